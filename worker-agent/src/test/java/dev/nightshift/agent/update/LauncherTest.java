package dev.nightshift.agent.update;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher with real child processes: each "jar" of a version is a shell script standing in for that agent (it
 * writes what a real agent writes: the staged version, the heartbeat marker), so a trial that heartbeats, one that
 * crashes and one that never heartbeats are each played out in seconds.
 */
@DisabledOnOs(OS.WINDOWS)
class LauncherTest {
  @TempDir Path data;
  LauncherDir dir;
  final List<String> started = new ArrayList<>();

  /** Runs the version's script with sh, as the launcher would run its jar with java. */
  final Launcher.Starter sh =
      (jar, args, env) -> {
        synchronized (started) {
          started.add(jar.getFileName().toString().replace(".jar", ""));
        }
        ProcessBuilder pb = new ProcessBuilder("sh", jar.toString());
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return pb.start();
      };

  @BeforeEach
  void install() throws IOException {
    dir = LauncherDir.under(data);
    // A: the first time, "downloads" B and asks for a restart; once B was refused it just ends
    Path installed = data.resolve("installed-A.jar");
    Files.writeString(installed, """
        if [ -f "$NIGHTSHIFT_LAUNCHER_DIR/refused" ]; then
          echo "A again, refused $(cat "$NIGHTSHIFT_LAUNCHER_DIR/refused")" > "$NIGHTSHIFT_LAUNCHER_DIR/../a-again"
          exit 0
        fi
        echo B > "$NIGHTSHIFT_LAUNCHER_DIR/staged"
        exit 75
        """);
    Launcher launcher = launcher(Duration.ofSeconds(30));
    launcher.adopt(installed, "A");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("A", null, false));
    assertThat(dir.jar("A")).exists();
  }

  private Launcher launcher(Duration trial) {
    return new Launcher(dir, List.of("run", "--server", "http://localhost:1"), sh, trial);
  }

  private void versionB(String script) throws IOException {
    Files.createDirectories(dir.versions());
    Files.writeString(dir.jar("B"), script);
  }

  @Test
  void aTrialThatHeartbeatsStays() throws Exception {
    versionB("""
        echo B > "$NIGHTSHIFT_LAUNCHER_DIR/heartbeat-ok"
        sleep 0.3
        exit 0
        """);
    Launcher launcher = launcher(Duration.ofSeconds(30));
    assertThat(launcher.run()).isZero();
    assertThat(started).containsExactly("A", "B");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("B", "A", false));
    assertThat(dir.refused()).doesNotExist();
    assertThat(dir.staged()).doesNotExist();
    assertThat(dir.jar("A")).as("the previous version is kept").exists();
  }

  @Test
  void aTrialThatCrashesIsRolledBackAndRefused() throws Exception {
    versionB("exit 1\n");
    Launcher launcher = launcher(Duration.ofSeconds(30));
    assertThat(launcher.run()).isZero();
    assertThat(started).containsExactly("A", "B", "A");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("A", null, false));
    assertThat(LauncherDir.read(dir.refused())).isEqualTo("B");
    assertThat(LauncherDir.read(data.resolve("a-again"))).isEqualTo("A again, refused B");
    assertThat(dir.jar("B")).as("the refused jar is deleted").doesNotExist();
  }

  @Test
  void aTrialWithoutAHeartbeatWithinTheLimitIsStoppedAndRolledBack() throws Exception {
    versionB("""
        echo started > "$NIGHTSHIFT_LAUNCHER_DIR/../b-started"
        sleep 60
        """);
    Launcher launcher = launcher(Duration.ofSeconds(1));
    long t0 = System.nanoTime();
    assertThat(launcher.run()).isZero();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
    assertThat(data.resolve("b-started")).exists();
    assertThat(started).containsExactly("A", "B", "A");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("A", null, false));
    assertThat(LauncherDir.read(dir.refused())).isEqualTo("B");
  }

  @Test
  void anAgentThatEndsOtherwiseEndsTheLauncherWithItsCode() throws Exception {
    Files.writeString(dir.jar("A"), "exit 3\n");
    assertThat(launcher(Duration.ofSeconds(1)).run()).isEqualTo(3);
    assertThat(started).containsExactly("A");
  }

  @Test
  void aNewlyInstalledJarBecomesCurrentWithTheOldOneAsPrevious() throws Exception {
    Path installed = data.resolve("installed-C.jar");
    Files.writeString(installed, "exit 0\n");
    Launcher launcher = launcher(Duration.ofSeconds(1));
    launcher.adopt(installed, "C");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("C", "A", false));
    launcher.adopt(installed, "C");
    assertThat(launcher.state()).as("adopted once").isEqualTo(new Launcher.State("C", "A", false));
  }

  @Test
  void stoppingTheLauncherStopsTheAgent() throws Exception {
    Files.writeString(dir.jar("A"), "sleep 60\n");
    Launcher launcher = launcher(Duration.ofSeconds(1));
    Thread stopper =
        new Thread(
            () -> {
              org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !started.isEmpty());
              launcher.stop();
            });
    stopper.start();
    long t0 = System.nanoTime();
    launcher.run();
    stopper.join();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    assertThat(started).containsExactly("A");
  }

  @Test
  void theAgentGetsTheLaunchersJvmOptions() {
    assertThat(Launcher.jvmOptions(new String[] {"-Xmx256m", "-Dx=y", "-jar", "/a.jar", "launch", "--", "run"}))
        .containsExactly("-Xmx256m", "-Dx=y");
  }

  @Test
  void theInstalledJarIsNotTakenUpAgainAfterUpdatesReplacedIt() throws Exception {
    // B "downloads" C once its trial is over, as a real agent does
    versionB("""
        echo B > "$NIGHTSHIFT_LAUNCHER_DIR/heartbeat-ok"
        sleep 0.5
        printf 'echo C > "$NIGHTSHIFT_LAUNCHER_DIR/heartbeat-ok"\\nexit 0\\n' > "$NIGHTSHIFT_LAUNCHER_DIR/versions/C.jar"
        echo C > "$NIGHTSHIFT_LAUNCHER_DIR/staged"
        exit 75
        """);
    Launcher launcher = launcher(Duration.ofSeconds(30));
    assertThat(launcher.run()).isZero();
    assertThat(started).containsExactly("A", "B", "C");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("C", "B", false));
    assertThat(dir.jar("A")).as("pruned: neither current nor previous").doesNotExist();

    // the service restarts the launcher, still the installed A jar: it keeps C
    launcher.adopt(data.resolve("installed-A.jar"), "A");
    assertThat(launcher.state()).isEqualTo(new Launcher.State("C", "B", false));
  }
}
