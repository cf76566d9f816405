package dev.nightshift.agent.update;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * The small launcher that makes self-update safe ({@code nightshift-agent launch -- run ...}): keeps the current
 * and the previous agent jar under {@code <data>/agent/versions/}, runs the current one as a child process, and when
 * it exits with {@link SelfUpdate#EXIT_RESTART} starts the version it staged on trial. A trial agent that does not
 * record a successful heartbeat within the trial limit, or exits first, is stopped and the previous jar started
 * again; the refused version is written down, so the agent reports it and the server stops offering it.
 */
public final class Launcher {
  private static final Logger LOG = Logger.getLogger(Launcher.class.getName());
  /** How long a new version has to record its first successful heartbeat. */
  public static final Duration TRIAL_LIMIT = Duration.ofMinutes(3);
  /** How long a stopping child may take to stop gracefully before it is killed. */
  static final Duration STOP_GRACE = Duration.ofSeconds(60);
  private static final long POLL_MILLIS = 200;

  /** Starts an agent jar as a child process. */
  @FunctionalInterface
  public interface Starter {
    Process start(Path jar, List<String> args, Map<String, String> env) throws IOException;
  }

  /** The launcher's state: the version run now, the one before it, and whether the current one is on trial. */
  record State(String current, String previous, boolean trial) {}

  private final LauncherDir dir;
  private final List<String> args;
  private final Starter starter;
  private final Duration trialLimit;
  private volatile boolean stopping;
  private volatile Process child;

  public Launcher(LauncherDir dir, List<String> args, Starter starter, Duration trialLimit) {
    this.dir = dir;
    this.args = List.copyOf(args);
    this.starter = starter;
    this.trialLimit = trialLimit;
  }

  /**
   * Starts jars with the Java runtime and the JVM options the launcher runs with: {@code java OPTIONS -jar JAR ARGS}
   * (so {@code -Xmx256m} given to the launcher applies to the agent too).
   */
  public static Starter javaStarter() {
    // Windows: javaw, as the scheduled task starts the launcher (no console window on the owner's desktop)
    Path bin = Path.of(System.getProperty("java.home"), "bin");
    String java =
        (isWindows()
                ? Files.isRegularFile(bin.resolve("javaw.exe")) ? bin.resolve("javaw.exe") : bin.resolve("java.exe")
                : bin.resolve("java"))
            .toString();
    List<String> options = jvmOptions(ProcessHandle.current().info().arguments().orElse(new String[0]));
    return (jar, args, env) -> {
      List<String> command = new ArrayList<>();
      command.add(java);
      command.addAll(options);
      command.addAll(List.of("-jar", jar.toString()));
      command.addAll(args);
      ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
      pb.environment().putAll(env);
      return pb.start();
    };
  }

  /** The JVM options of a {@code java OPTIONS -jar JAR ...} command line: what comes before {@code -jar}. */
  static List<String> jvmOptions(String[] arguments) {
    List<String> options = new ArrayList<>();
    for (String a : arguments) {
      if (a.equals("-jar") || !a.startsWith("-")) {
        break;
      }
      options.add(a);
    }
    return options;
  }

  /**
   * Takes up the jar the launcher itself runs from as {@code version}, once per installed version: a first start,
   * or an agent installed anew (the install script run again), becomes the current version (the one before it the
   * previous). The installed jar is remembered in {@code installed}, so it is not taken up again after updates
   * replaced it (and pruned its copy).
   */
  public void adopt(Path ownJar, String version) throws IOException {
    if (ownJar == null || !Files.isRegularFile(ownJar) || !LauncherDir.validVersion(version)) {
      return;
    }
    State s = state();
    if (version.equals(LauncherDir.read(dir.installed())) && s.current() != null) {
      return;
    }
    Path jar = dir.jar(version);
    if (!Files.isRegularFile(jar)) {
      Files.createDirectories(dir.versions());
      Path tmp = dir.versions().resolve(version + ".jar.tmp");
      Files.copy(ownJar, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    String previous = s.current() == null || s.current().equals(version) ? s.previous() : s.current();
    save(new State(version, previous, false));
    LauncherDir.write(dir.installed(), version);
    LOG.info("launcher: agent " + version + " installed from " + ownJar);
  }

  /**
   * Runs the current agent until it exits other than to restart (or the launcher is stopped); answers its exit
   * code. Restarts into a staged version on trial, and rolls a failed trial back.
   */
  public int run() throws IOException, InterruptedException {
    int emptyRestarts = 0;
    while (!stopping) {
      State s = state();
      if (s.current() == null || !Files.isRegularFile(dir.jar(s.current()))) {
        LOG.severe("launcher: no agent jar to run in " + dir.versions() + " (state " + s + ")");
        return 1;
      }
      if (s.trial()) {
        Files.deleteIfExists(dir.heartbeatOk());
      }
      LOG.info("launcher: starting agent " + s.current() + (s.trial() ? " on trial" : ""));
      Process p = starter.start(dir.jar(s.current()), args, Map.of(LauncherDir.ENV, dir.root().toString()));
      child = p;
      if (stopping) {
        stopChild(p);
      }
      if (s.trial() && !stopping) {
        String failure = awaitTrial(p);
        if (failure != null) {
          stopChild(p);
          if (stopping) {
            break;
          }
          rollBack(s, failure);
          continue;
        }
        save(new State(s.current(), s.previous(), false));
        LOG.info("launcher: agent " + s.current() + " heartbeats; it stays (previous: " + s.previous() + ")");
      }
      int code = p.waitFor();
      if (stopping) {
        return code == SelfUpdate.EXIT_RESTART ? 0 : code;
      }
      if (code != SelfUpdate.EXIT_RESTART) {
        LOG.info("launcher: agent " + s.current() + " exited " + code);
        return code;
      }
      String staged = LauncherDir.read(dir.staged());
      Files.deleteIfExists(dir.staged());
      if (staged == null || staged.equals(s.current()) || !LauncherDir.validVersion(staged)
          || !Files.isRegularFile(dir.jar(staged))) {
        if (++emptyRestarts > 3) {
          LOG.severe("launcher: agent keeps asking for a restart without staging another version; giving up");
          return 1;
        }
        LOG.warning("launcher: agent asked for a restart but staged no other version (" + staged + "); restarting "
            + s.current());
        Thread.sleep(1_000);
        continue;
      }
      emptyRestarts = 0;
      save(new State(staged, s.current(), true));
      prune(staged, s.current()); // now, while no agent runs that could be downloading the next one
    }
    return 0;
  }

  /** Null when the trial agent recorded a heartbeat in time; otherwise why the trial failed. */
  private String awaitTrial(Process p) throws InterruptedException {
    long deadline = System.nanoTime() + trialLimit.toNanos();
    while (!stopping) {
      if (Files.exists(dir.heartbeatOk())) {
        return null;
      }
      if (!p.isAlive()) {
        return Files.exists(dir.heartbeatOk()) ? null : "it exited with code " + p.exitValue()
            + " before its first successful heartbeat";
      }
      if (System.nanoTime() - deadline > 0) {
        return "no successful heartbeat within " + trialLimit.toSeconds() + " s";
      }
      p.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS);
    }
    return "the launcher is stopping";
  }

  private void rollBack(State s, String failure) throws IOException {
    LOG.warning("launcher: agent " + s.current() + " failed its trial (" + failure + "); rolling back to "
        + s.previous());
    LauncherDir.write(dir.refused(), s.current());
    if (s.previous() == null) {
      throw new IOException("no previous agent version to roll back to");
    }
    save(new State(s.previous(), null, false));
    Files.deleteIfExists(dir.jar(s.current()));
  }

  /** Deletes every jar but these two. */
  private void prune(String keep1, String keep2) throws IOException {
    try (Stream<Path> jars = Files.list(dir.versions())) {
      for (Path jar : jars.toList()) {
        String name = jar.getFileName().toString();
        if (name.equals(keep1 + ".jar") || name.equals(keep2 + ".jar") || !name.endsWith(".jar")) {
          continue;
        }
        Files.deleteIfExists(jar);
      }
    }
  }

  /** Stops the child gracefully (SIGTERM: it gives its leases back), killing it after a grace period. */
  private static void stopChild(Process p) throws InterruptedException {
    if (!p.isAlive()) {
      return;
    }
    p.destroy();
    if (!p.waitFor(STOP_GRACE.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The launcher is stopped (its shutdown hook): the child is stopped gracefully and {@link #run} returns. */
  public void stop() {
    stopping = true;
    Process p = child;
    if (p != null) {
      try {
        stopChild(p);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  State state() {
    Properties p = new Properties();
    if (Files.isRegularFile(dir.state())) {
      try (InputStream in = Files.newInputStream(dir.state())) {
        p.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + dir.state(), e);
      }
    }
    return new State(
        blankToNull(p.getProperty("current")), blankToNull(p.getProperty("previous")),
        Boolean.parseBoolean(p.getProperty("trial")));
  }

  private void save(State s) throws IOException {
    Properties p = new Properties();
    p.setProperty("current", s.current() == null ? "" : s.current());
    p.setProperty("previous", s.previous() == null ? "" : s.previous());
    p.setProperty("trial", Boolean.toString(s.trial()));
    Files.createDirectories(dir.root());
    Path tmp = dir.state().resolveSibling("launcher.properties.tmp");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      p.store(out, "nightshift agent launcher: the agent version run now, the one before it, on trial or not");
    }
    Files.move(tmp, dir.state(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  private static boolean isWindows() {
    return System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows");
  }
}
