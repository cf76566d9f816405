package dev.nightshift.agent.lock;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceLockTest {
  @TempDir Path data;

  private InstanceLock.Attempt lock() throws Exception {
    return InstanceLock.tryAcquire(data.resolve("agent.lock"), data.resolve("agent.pid"));
  }

  @Test
  void aSecondLockInTheSameJvmIsRefusedAndNamesTheHolder() throws Exception {
    try (InstanceLock first = lock().lock()) {
      assertThat(first).isNotNull();
      assertThat(data.resolve("agent.pid")).hasContent(Long.toString(ProcessHandle.current().pid()));

      InstanceLock.Attempt second = lock(); // OverlappingFileLockException inside the same JVM

      assertThat(second.acquired()).isFalse();
      assertThat(second.refusal(data))
          .isEqualTo("another agent (pid " + ProcessHandle.current().pid() + ") is already running with data dir "
              + data + "; exiting");
    }
    assertThat(data.resolve("agent.pid")).doesNotExist();
    InstanceLock.Attempt again = lock();
    assertThat(again.acquired()).isTrue();
    again.lock().close();
  }

  @Test
  void aSecondAgentProcessOnTheSameDataDirExitsZeroNamingOurPid() throws Exception {
    try (InstanceLock held = lock().lock()) {
      assertThat(held).isNotNull();
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p =
          new ProcessBuilder(
                  List.of(java, "-cp", System.getProperty("java.class.path"), "dev.nightshift.agent.Main", "once",
                      "--data-dir", data.toString(), "--server", "http://127.0.0.1:9", "--enrollment-token", "x"))
              .redirectErrorStream(true)
              .start();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out).contains("another agent (pid " + ProcessHandle.current().pid() + ") is already running with"
          + " data dir " + data.toAbsolutePath().normalize() + "; exiting");
      assertThat(Files.exists(data.resolve("identity.json"))).isFalse();
    }
  }
}
