package dev.nightshift.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.agent.lock.InstanceLock;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line in-process: help, and clear messages with a non-zero exit for bad input. */
class AgentCliTest {
  @TempDir Path home;
  private final Map<String, String> env = new HashMap<>();
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli =
        AgentCli.commandLine(new CliEnvironment(env, home.toString(), e -> "test-host", false));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void helpExplainsTheCommandsAndEveryFlag() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("run", "once", "status", "pause", "resume", "version");

    assertThat(run("run", "--help")).isZero();
    assertThat(out.toString())
        .contains("--server=URL", "--enrollment-token=TOKEN", "--data-dir=DIR", "--slots=N", "--name=NAME",
            "--label=KEY=VALUE", "--idle-policy=POLICY", "--claim-wait=DURATION", "--max-output-bytes=SIZE",
            "--log-tail-bytes=SIZE", "--code-cache=N", "--window=WINDOW", "--input-idle=DURATION",
            "--max-load=FRACTION", "--run-on-battery", "--vacate-after=DURATION", "--host-idle-file=FILE", "NIGHTSHIFT_CODE_CACHE", "--config=FILE", "NIGHTSHIFT_SERVER", "NIGHTSHIFT_ENROLLMENT_TOKEN");

    assertThat(run("once", "--help")).isZero();
    assertThat(out.toString()).contains("Cron");
  }

  @Test
  void versionPrintsTheAgentAndProtocolVersions() {
    assertThat(run("version")).isZero();
    assertThat(out.toString()).startsWith("nightshift-agent ").contains("agent protocol v1");
  }

  @Test
  void unknownFlagsAndMissingCommandsFailWithUsageStatus() {
    // tries: an unknown flag on run; no command at all; an unknown command
    assertThat(run("run", "--bogus")).isEqualTo(2);
    assertThat(err.toString()).contains("Unknown option: '--bogus'").contains("nightshift-agent run --help");

    assertThat(run()).isEqualTo(2);
    assertThat(err.toString()).contains("missing command");

    assertThat(run("start")).isEqualTo(2);
    assertThat(err.toString()).contains("start");
  }

  @Test
  void badSlotsAreRefusedWithAClearMessage() {
    // tries: --slots 0, --slots -1, --slots abc, --slots (no value), NIGHTSHIFT_SLOTS=many
    String data = home.resolve("d").toString();
    for (String bad : new String[] {"0", "-1", "abc"}) {
      StringWriter before = new StringWriter();
      before.write(err.toString());
      assertThat(run("run", "--server", "http://x", "--enrollment-token", "t", "--data-dir", data, "--slots", bad))
          .as("--slots %s", bad)
          .isEqualTo(2);
      assertThat(err.toString()).contains("invalid value '" + bad + "' for --slots: expected a whole number from 1");
    }
    assertThat(run("run", "--slots")).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required parameter for option '--slots'");

    env.put("NIGHTSHIFT_SLOTS", "many");
    assertThat(run("once", "--server", "http://x", "--enrollment-token", "t", "--data-dir", data)).isEqualTo(2);
    assertThat(err.toString()).contains("invalid value 'many' for NIGHTSHIFT_SLOTS");
  }

  @Test
  void runWithoutServerOrEnrollmentSaysWhatToPass() {
    // tries: no --server and no identity; a server but neither identity nor enrollment token; a bad idle policy
    String data = home.resolve("d").toString();
    assertThat(run("run", "--data-dir", data, "--enrollment-token", "t")).isEqualTo(2);
    assertThat(err.toString()).contains("no server: pass --server URL (or NIGHTSHIFT_SERVER)");

    assertThat(run("run", "--data-dir", data, "--server", "http://localhost:1")).isEqualTo(2);
    assertThat(err.toString()).contains("not enrolled: pass --enrollment-token T (or NIGHTSHIFT_ENROLLMENT_TOKEN)");

    assertThat(run("run", "--data-dir", data, "--server", "http://x", "--idle-policy", "sometimes")).isEqualTo(2);
    assertThat(err.toString()).contains("unknown idle policy 'sometimes': known policies are always, desktop");

    assertThat(run("run", "--data-dir", data, "--server", "ftp://x", "--enrollment-token", "t")).isEqualTo(2);
    assertThat(err.toString()).contains("invalid value 'ftp://x' for --server");
  }

  @Test
  void plainHttpToAnotherMachineIsRefusedUnlessExplicitlyAllowed() {
    // tries: http://grid.example.lan, http://10.0.0.5:8080, the same in NIGHTSHIFT_SERVER; then loopback names and
    // addresses, https://, and --allow-insecure-http / NIGHTSHIFT_ALLOW_INSECURE_HTTP=true
    String data = home.resolve("d").toString();
    for (String url : new String[] {"http://grid.example.lan", "http://10.0.0.5:8080"}) {
      err.getBuffer().setLength(0);
      assertThat(run("once", "--data-dir", data, "--server", url, "--enrollment-token", "t")).as(url).isEqualTo(2);
      assertThat(err.toString()).as(url).contains("refusing plain http:// to ")
          .contains("which is not this machine").contains("--allow-insecure-http");
    }
    env.put("NIGHTSHIFT_SERVER", "http://grid.example.lan");
    err.getBuffer().setLength(0);
    assertThat(run("once", "--data-dir", data)).isEqualTo(2);
    assertThat(err.toString()).contains("refusing plain http:// to grid.example.lan");
    env.remove("NIGHTSHIFT_SERVER");

    // accepted: the next complaint is the missing enrollment
    for (String url : new String[] {"http://localhost:1", "http://127.0.0.1:1", "http://[::1]:1", "https://grid.example.lan"}) {
      err.getBuffer().setLength(0);
      assertThat(run("once", "--data-dir", data, "--server", url)).as(url).isEqualTo(2);
      assertThat(err.toString()).as(url).contains("not enrolled").doesNotContain("refusing plain http://");
    }
    err.getBuffer().setLength(0);
    assertThat(run("once", "--data-dir", data, "--server", "http://grid.example.lan", "--allow-insecure-http"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("not enrolled").doesNotContain("refusing");
    env.put("NIGHTSHIFT_ALLOW_INSECURE_HTTP", "true");
    err.getBuffer().setLength(0);
    assertThat(run("once", "--data-dir", data, "--server", "http://10.0.0.5")).isEqualTo(2);
    assertThat(err.toString()).contains("not enrolled").doesNotContain("refusing");
  }

  /** Script confinement that cannot be had stops the agent at start with what to fix (tried: an unknown user). */
  @Test
  void aScriptUserThatCannotBeUsedStopsTheAgentAtStart() {
    String data = home.resolve("d").toString();
    assertThat(run("once", "--data-dir", data, "--server", "http://localhost:1", "--enrollment-token", "t",
        "--script-user", "no-such-user-xyz")).isEqualTo(2);
    assertThat(err.toString()).containsAnyOf("no such user", "needs the agent to run as root", "Linux only");
    err.getBuffer().setLength(0);
    assertThat(run("once", "--data-dir", data, "--server", "http://localhost:1", "--script-cpus", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--script-cpus");
  }

  @Test
  void aSecondStartOnTheSameDataDirExitsZeroNamingThePid() throws Exception {
    Path data = home.resolve("d");
    java.nio.file.Files.createDirectories(data);
    try (InstanceLock held = InstanceLock.tryAcquire(data.resolve("agent.lock"), data.resolve("agent.pid")).lock()) {
      assertThat(held).isNotNull();
      assertThat(run("once", "--data-dir", data.toString(), "--server", "http://x", "--enrollment-token", "t"))
          .isZero();
      assertThat(out.toString()).contains("another agent (pid " + ProcessHandle.current().pid() + ")");
    }
  }
}
