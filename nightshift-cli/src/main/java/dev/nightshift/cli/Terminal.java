package dev.nightshift.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Whether stdout and stderr are terminals (progress bars, redraws) or pipes and files (plain lines). */
final class Terminal {
  private Terminal() {}

  /** True when file descriptor 1 or 2 is a terminal. {@code NIGHTSHIFT_PLAIN=1} forces plain output. */
  static boolean isTerminal(int fd) {
    if (System.getenv("NIGHTSHIFT_PLAIN") != null) {
      return false;
    }
    Path fds = Path.of("/proc/self/fd");
    if (Files.isDirectory(fds)) {
      try {
        String target = Files.readSymbolicLink(fds.resolve(Integer.toString(fd))).toString();
        return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
      } catch (IOException | UnsupportedOperationException e) {
        return false;
      }
    }
    return System.console() != null; // elsewhere: both stdin and stdout are a terminal
  }

  /** Columns of the terminal: {@code COLUMNS}, else {@code stty size}, else 80. */
  static int width() {
    String columns = System.getenv("COLUMNS");
    if (columns != null && columns.matches("[0-9]{1,4}")) {
      return Math.max(20, Integer.parseInt(columns));
    }
    File tty = new File("/dev/tty");
    if (tty.exists()) {
      try {
        Process p = new ProcessBuilder("stty", "size").redirectInput(tty).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        if (p.waitFor(2, TimeUnit.SECONDS) && p.exitValue() == 0 && out.matches("[0-9]+ [0-9]+")) {
          return Math.max(20, Integer.parseInt(out.split(" ")[1]));
        }
      } catch (IOException e) {
        // no stty: use the default
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return 80;
  }
}
