package dev.nightshift.agent.idle;

import dev.nightshift.agent.runner.ForkLock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;

/** Runs a small probe command (loginctl, xprintidle, ioreg) with a deadline; any failure is an empty answer. */
final class Commands {
  private Commands() {}

  /** stdout of {@code command} when it exits 0 within {@code timeout}. */
  static Optional<String> output(List<String> command, Duration timeout) {
    Process p;
    Lock forking = ForkLock.starting();
    forking.lock();
    try {
      p = new ProcessBuilder(command).redirectErrorStream(false).redirectInput(ProcessBuilder.Redirect.PIPE)
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    } finally {
      forking.unlock();
    }
    try (InputStream in = p.getInputStream()) {
      p.getOutputStream().close();
      // the outputs are small and fit the pipe's buffer: wait first, so a hung command cannot hold us
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      byte[] out = in.readNBytes(64 * 1024);
      return p.exitValue() == 0 ? Optional.of(new String(out, StandardCharsets.UTF_8)) : Optional.empty();
    } catch (IOException e) {
      p.destroyForcibly();
      return Optional.empty();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Whether {@code name} is an executable on the PATH. */
  static boolean onPath(String name, String path) {
    if (path == null) {
      return false;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return true;
      }
    }
    return false;
  }
}
