package dev.nightshift.agent.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.agent.testing.Leases;
import dev.nightshift.protocol.AttemptOutcome;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Script confinement with real processes: a script running as another OS user (setpriv) and in control groups with
 * limits. The tests that need root, the user {@code nobody} or writable control groups skip with the reason where
 * those are missing (CI runs as root and has them).
 */
@EnabledOnOs(OS.LINUX)
class ConfinementTest {
  @TempDir Path temp;

  private static final Path CGROUPS = Path.of("/sys/fs/cgroup");

  private static String sh(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    p.waitFor();
    return p.exitValue() == 0 ? out : null;
  }

  private static boolean root() throws Exception {
    return "0".equals(sh("id", "-u"));
  }

  private ScriptRunner runner(Path data, Path work, Confinement confinement) {
    Map<String, String> env = Map.of("PATH", "/usr/local/bin:/usr/bin:/bin");
    RunnerConfig config = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 64L << 20, 4096,
        List.of("sh", "-c"), env, confinement);
    return new ScriptRunner(config, new WorkDirWorkspace(work), Clock.systemUTC());
  }

  private static String output(RunResult r) throws Exception {
    return Files.readString(r.outputFile(), StandardCharsets.UTF_8);
  }

  /**
   * Attacks tried as the script: read the agent's identity (its token), the spool, another batch's log and stdout,
   * the agent's environment in /proc, list the data dir, write into the checkout. All refused; the script still reads
   * its checkout and writes its scratch dir.
   */
  @Test
  void aScriptRunningAsTheScriptUserCannotReadTheAgentsSecrets() throws Exception {
    assumeTrue(root(), "needs root: the agent switches users only when it runs as root (a system service)");
    String nobodyUid = sh("id", "-u", "nobody");
    assumeTrue(nobodyUid != null, "needs the OS user 'nobody'");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")) || Files.isExecutable(Path.of("/bin/setpriv")),
        "needs setpriv (util-linux)");
    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwx--x--x"));
    Path data = temp.resolve("agent");
    Files.createDirectories(data);
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx------"));
    Files.writeString(data.resolve("identity.json"), "{\"token\":\"agent-secret\"}");
    Files.setPosixFilePermissions(data.resolve("identity.json"), PosixFilePermissions.fromString("rw-------"));
    Files.createDirectories(data.resolve("spool"));
    Files.writeString(data.resolve("spool/9-1.json"), "spooled-result"); // 0644 in a 0755 dir, as created
    Files.createDirectories(data.resolve("logs/attempts"));
    Files.writeString(data.resolve("logs/attempts/9-1.log"), "other-batch-stderr");
    Path checkout = data.resolve("code/checkouts/abc123");
    Files.createDirectories(checkout);
    Files.writeString(checkout.resolve("code.txt"), "the-code");
    Files.createDirectories(data.resolve("code/repo.git/objects"));
    Files.writeString(data.resolve("code/repo.git/config"), "repo-config");

    Confinement confinement =
        Confinement.open(new Confinement.Settings("nobody", 0, 0), data, System.getProperty("os.name"));
    ScriptRunner runner = runner(data, checkout, confinement);
    RunResult earlier = runner.prepare(Leases.items(20, "echo other-batch-stdout", 10)).run();
    assertThat(earlier.outcome()).as(earlier.toString()).isEqualTo(AttemptOutcome.SUCCEEDED);

    String d = data.toString();
    long agentPid = ProcessHandle.current().pid();
    String script = "id -u; cat code.txt; echo;"
        + " cat " + d + "/identity.json 2>/dev/null || echo denied-identity;"
        + " cat " + d + "/spool/9-1.json 2>/dev/null || echo denied-spool;"
        + " cat " + d + "/logs/attempts/9-1.log 2>/dev/null || echo denied-log;"
        + " cat " + d + "/runs/20-1.out 2>/dev/null || echo denied-stdout;"
        + " cat " + d + "/code/repo.git/config 2>/dev/null || echo denied-repo;"
        + " ls " + d + " >/dev/null 2>&1 || echo denied-list;"
        + " cat /proc/" + agentPid + "/environ >/dev/null 2>&1 || echo denied-environ;"
        + " (echo x > new.txt) 2>/dev/null || echo denied-write-code;"
        + " echo mine > \"$TMPDIR/f\" && echo scratch-ok; echo \"home=$HOME user=$USER\"";
    RunResult r = runner.prepare(Leases.items(21, script, 20)).run();

    String out = output(r);
    assertThat(r.outcome()).as(r + "\n" + out).isEqualTo(AttemptOutcome.SUCCEEDED);
    assertThat(out.lines().toList()).startsWith(nobodyUid, "the-code");
    assertThat(out).contains("denied-identity", "denied-spool", "denied-log", "denied-stdout", "denied-repo",
            "denied-list", "denied-environ", "denied-write-code", "scratch-ok", "user=nobody")
        .doesNotContain("agent-secret", "spooled-result", "other-batch-stderr", "other-batch-stdout", "repo-config");
    assertThat(out).contains("home=" + data.resolve("runs/21-1.scratch"));
    assertThat(Files.getPosixFilePermissions(data.resolve("identity.json")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
  }

  @Test
  void badScriptUserSettingsAreRefusedWithWhatToFix() throws Exception {
    Path data = temp.resolve("agent");
    Files.createDirectories(data);
    assertThatThrownBy(() -> Confinement.open(new Confinement.Settings("nobody", 0, 0), data, "Windows 11"))
        .hasMessageContaining("Linux only").hasMessageContaining("low-privilege account");
    if (root()) {
      assertThatThrownBy(() -> Confinement.open(
              new Confinement.Settings("no-such-user-xyz", 0, 0), data, "Linux"))
          .hasMessageContaining("no such user").hasMessageContaining("useradd");
      assertThatThrownBy(() -> Confinement.open(new Confinement.Settings("root", 0, 0), data, "Linux"))
          .hasMessageContaining("is root");
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwx------"));
      assertThatThrownBy(() -> Confinement.open(new Confinement.Settings("nobody", 0, 0), data, "Linux"))
          .hasMessageContaining("cannot reach the data dir").hasMessageContaining("chmod o+x " + temp);
    } else {
      assertThatThrownBy(() -> Confinement.open(new Confinement.Settings("nobody", 0, 0), data, "Linux"))
          .hasMessageContaining("needs the agent to run as root");
    }
  }

  private static boolean writableV1(String controller) {
    Path dir = CGROUPS.resolve(controller);
    return !Files.exists(CGROUPS.resolve("cgroup.controllers")) && Files.isDirectory(dir) && Files.isWritable(dir);
  }

  /** A script allocating 400 MiB under a 64 MiB limit is killed by the kernel, and the attempt says why. */
  @Test
  void anAttemptOverItsMemoryLimitIsKilledAndSaysSo() throws Exception {
    assumeTrue(root() && (writableV1("memory") || Files.exists(CGROUPS.resolve("cgroup.controllers"))),
        "needs root and writable control groups (cgroup v1 memory, or v2)");
    Path data = temp.resolve("agent");
    Path work = temp.resolve("work");
    Files.createDirectories(work);
    Confinement confinement;
    try {
      confinement = Confinement.open(new Confinement.Settings(null, 64L << 20, 0.5), data, "Linux");
    } catch (Confinement.ConfinementException e) {
      assumeTrue(false, "control groups cannot be delegated here: " + e.getMessage());
      return;
    }
    ScriptRunner runner = runner(data, work, confinement);

    RunResult inside = runner.prepare(Leases.items(30, "cat /proc/self/cgroup", 10)).run();
    assertThat(inside.outcome()).as(inside.toString()).isEqualTo(AttemptOutcome.SUCCEEDED);
    assertThat(output(inside)).contains("nightshift-30-1");

    String quota = Files.exists(CGROUPS.resolve("cgroup.controllers"))
        ? "cat /sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/cpu.max"
        : "cat /sys/fs/cgroup/cpu$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/self/cgroup)/cpu.cfs_quota_us";
    RunResult cpu = runner.prepare(Leases.items(31, quota, 10)).run();
    assertThat(output(cpu)).as(cpu.toString()).startsWith("50000");

    RunResult hog = runner.prepare(Leases.items(32, "head -c 400M /dev/zero | tail > /dev/null && echo survived", 60))
        .run();
    assertThat(hog.outcome()).isEqualTo(AttemptOutcome.FAILED);
    assertThat(hog.error()).contains("killed for going over its memory limit of 64 MiB");
    assertThat(output(hog)).doesNotContain("survived");
    try (var groups = Files.list(confinement.toString().contains("v2") ? CGROUPS : CGROUPS.resolve("memory"))) {
      assertThat(groups.map(p -> p.getFileName().toString())).as("removed after each attempt")
          .noneMatch(n -> n.startsWith("nightshift-3"));
    }
  }

  /**
   * cgroup v2 as systemd delegates it (Delegate=yes), on a stand-in tree: the agent moves itself into a leaf
   * {@code agent} group, enables memory and cpu for its children, writes each attempt's limits, and its script
   * enters the attempt's group before it runs.
   */
  @Test
  void underCgroupV2TheAgentMovesItselfToALeafAndLimitsEachAttempt() throws Exception {
    Path fs = temp.resolve("cgroupfs");
    Path base = fs.resolve("system.slice/nightshift-agent.service");
    Files.createDirectories(base);
    Files.writeString(fs.resolve("cgroup.controllers"), "cpu memory pids");
    Files.writeString(base.resolve("cgroup.subtree_control"), "");
    Files.writeString(base.resolve("cgroup.procs"), "4242\n");
    Path self = temp.resolve("self-cgroup");
    Files.writeString(self, "0::/system.slice/nightshift-agent.service\n");
    Path data = temp.resolve("agent");
    Path work = temp.resolve("work");
    Files.createDirectories(work);

    Confinement confinement =
        Confinement.open(new Confinement.Settings(null, 256L << 20, 1.5), data, "Linux", fs, self);

    assertThat(base.resolve("agent/cgroup.procs")).hasContent("4242");
    assertThat(base.resolve("cgroup.subtree_control")).hasContent("+memory +cpu");
    assertThat(confinement.toString()).isEqualTo("memory 256 MiB, cpus 1.5 per attempt (cgroup v2)");
    Path group = base.resolve("nightshift-40-1");
    String script = "cat " + group.resolve("memory.max") + "; echo; cat " + group.resolve("cpu.max") + "; echo;"
        + " cat " + group.resolve("cgroup.procs") + "; echo $$";
    RunResult r = runner(data, work, confinement).prepare(Leases.items(40, script, 10)).run();

    assertThat(r.outcome()).as(r.toString()).isEqualTo(AttemptOutcome.SUCCEEDED);
    List<String> lines = output(r).lines().toList();
    assertThat(lines.subList(0, 2)).containsExactly(Long.toString(256L << 20), "150000 100000");
    assertThat(lines.get(2)).as("the wrapper wrote its pid, then exec'd the script's shell")
        .matches("[0-9]+").isEqualTo(lines.get(3));
    assertThat(group).as("removed after the attempt").doesNotExist();
  }
}
