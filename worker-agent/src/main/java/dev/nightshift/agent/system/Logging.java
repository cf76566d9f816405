package dev.nightshift.agent.system;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.logging.ConsoleHandler;
import java.util.logging.FileHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * java.util.logging set up once: a compact one-line format on stderr, and after the instance lock is held a
 * rotating {@code <data>/logs/agent.log.N} file. Never log tokens.
 */
public final class Logging {
  /** Size at which the agent log rotates. */
  public static final int FILE_LIMIT_BYTES = 5 * 1024 * 1024;
  /** How many rotated agent logs are kept. */
  public static final int FILE_COUNT = 5;

  private static final String ROOT = "dev.nightshift";
  /** JGit (through slf4j-jdk14): warnings only unless verbose. Held here: JUL forgets levels of unreferenced loggers. */
  private static final Logger JGIT = Logger.getLogger("org.eclipse.jgit");

  private Logging() {}

  /** Console logging only (before the data directory is ours). */
  public static void toConsole(boolean verbose) {
    AgentLogManager.holdHandlers(false);
    LogManager.getLogManager().reset();
    AgentLogManager.holdHandlers(true);
    Logger root = Logger.getLogger("");
    root.setLevel(Level.INFO);
    Handler console = new ConsoleHandler();
    console.setFormatter(new OneLine());
    console.setLevel(verbose ? Level.FINE : Level.INFO);
    root.addHandler(console);
    Logger.getLogger(ROOT).setLevel(verbose ? Level.FINE : Level.INFO);
    JGIT.setLevel(verbose ? Level.FINE : Level.WARNING);
  }

  /** Adds the rotating file log in {@code logsDir}; failures are reported on the console and ignored. */
  public static void toFile(Path logsDir, boolean verbose) {
    try {
      Files.createDirectories(logsDir);
      FileHandler file =
          new FileHandler(logsDir.resolve("agent.log.%g").toString(), FILE_LIMIT_BYTES, FILE_COUNT, true);
      file.setFormatter(new OneLine());
      file.setLevel(verbose ? Level.FINE : Level.INFO);
      Logger.getLogger("").addHandler(file);
    } catch (IOException | RuntimeException e) {
      Logger.getLogger(ROOT).warning("cannot write the agent log in " + logsDir + ": " + e.getMessage());
    }
  }

  /** Flushes and closes every handler (the file log's lock file goes away); later records are dropped. */
  public static synchronized void close() {
    AgentLogManager.holdHandlers(false);
    LogManager.getLogManager().reset();
  }

  /** {@code 2026-11-22 10:15:30.123 INFO  loop: message}, plus the stack trace when one is attached. */
  static final class OneLine extends Formatter {
    private static final DateTimeFormatter TIME =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

    @Override
    public String format(LogRecord r) {
      String name = r.getLoggerName() == null ? "" : r.getLoggerName();
      String shortName = name.substring(name.lastIndexOf('.') + 1);
      StringBuilder sb =
          new StringBuilder()
              .append(TIME.format(r.getInstant()))
              .append(' ')
              .append(String.format("%-5s", r.getLevel().getName()))
              .append(' ')
              .append(shortName)
              .append(": ")
              .append(formatMessage(r))
              .append(System.lineSeparator());
      if (r.getThrown() != null) {
        StringWriter sw = new StringWriter();
        r.getThrown().printStackTrace(new PrintWriter(sw));
        sb.append(sw);
      }
      return sb.toString();
    }
  }
}
