package dev.nightshift.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pause}, {@code resume} and {@code status} in-process, with and without a (simulated) running agent. */
class IdleCommandsTest {
  @TempDir Path home;
  @TempDir Path data;
  private final Map<String, String> env = new HashMap<>();
  private StringWriter out = new StringWriter();
  private StringWriter err = new StringWriter();

  private int run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine cli = AgentCli.commandLine(new CliEnvironment(env, home.toString(), e -> "test-host", false));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void pauseAndResumeWorkWithoutARunningAgent() throws Exception {
    assertThat(run("pause", "--data-dir", data.toString(), "--for", "2h")).isZero();
    assertThat(out.toString()).startsWith("paused for 2 h, until ")
        .contains("no agent is running with " + data + " now; the pause applies when one starts");
    assertThat(Files.readString(data.resolve("owner-pause"))).contains("until=20");

    assertThat(run("status", "--data-dir", data.toString())).isEqualTo(3);
    assertThat(out.toString()).contains("owner pause: until 20").contains("agent: not running");

    assertThat(run("resume", "--data-dir", data.toString())).isZero();
    assertThat(out.toString()).startsWith("resumed: the pause is over");
    assertThat(data.resolve("owner-pause")).doesNotExist();
    assertThat(run("resume", "--data-dir", data.toString())).isZero();
    assertThat(out.toString()).startsWith("not paused: nothing to resume");

    assertThat(run("pause", "--data-dir", data.toString())).isZero();
    assertThat(out.toString()).startsWith("paused until 'nightshift-agent resume --data-dir " + data + "'");
  }

  @Test
  void theDataDirComesFromTheEnvironmentToo() {
    env.put("NIGHTSHIFT_DATA_DIR", data.toString());
    assertThat(run("pause", "--for", "30m")).isZero();
    assertThat(data.resolve("owner-pause")).exists();
  }

  @Test
  void badDurationsAreRefusedWithUsageStatus() {
    for (String bad : new String[] {"2x", "-5m", "0s", "400d", ""}) {
      assertThat(run("pause", "--data-dir", data.toString(), "--for", bad)).as(bad).isEqualTo(2);
      assertThat(err.toString()).contains("invalid duration '" + bad + "' for --for")
          .contains("nightshift-agent pause --help");
    }
    assertThat(data.resolve("owner-pause")).doesNotExist();
    assertThat(run("pause", "--data-dir", data.toString(), "--for")).isEqualTo(2);
    assertThat(run("status", "--data-dir", data.toString(), "--bogus")).isEqualTo(2);
  }

  @Test
  void theStatusTheLoopWritesIsTheStatusTheCommandReads() throws Exception {
    Path file = data.resolve("status.json");
    dev.nightshift.agent.loop.AgentStatus written =
        new dev.nightshift.agent.loop.AgentStatus(
            42, Instant.parse("2026-12-01T10:00:00Z"), "RUN", "idle", java.util.Map.of("policy", "always"),
            "BUSY", "1 batch", 2, 600,
            java.util.List.of(
                new dev.nightshift.agent.loop.AgentStatus.Batch(
                    7, 1, dev.nightshift.agent.loop.AgentStatus.Phase.SUSPENDED, 42L),
                new dev.nightshift.agent.loop.AgentStatus.Batch(
                    8, 2, dev.nightshift.agent.loop.AgentStatus.Phase.REPORTING, null)));
    written.write(file);
    assertThat(dev.nightshift.agent.loop.AgentStatus.read(file)).isEqualTo(written);
  }

  @Test
  void statusPrintsTheRunningAgentsVerdictReadingsAndBatches() throws Exception {
    long pid = ProcessHandle.current().pid(); // stands in for a running agent
    Files.writeString(data.resolve("agent.pid"), pid + "\n");
    Files.writeString(data.resolve("status.json"), """
        {"pid": %d, "updatedAt": "%s", "verdict": "PAUSED_BY_OWNER",
         "reason": "paused by the owner until resumed; 'nightshift-agent resume' ends it",
         "readings": {"policy": "always", "owner pause": "paused by the owner until resumed"},
         "state": "PAUSED_BY_OWNER", "stateReason": "paused; 1 batch(es) suspended, vacated after 10 min",
         "slots": 1, "vacateAfterSeconds": 600,
         "batches": [{"batchId": 7, "attempt": 1, "phase": "SUSPENDED", "suspendedSeconds": 42}]}
        """.formatted(pid, Instant.now()));

    assertThat(run("status", "--data-dir", data.toString())).isZero();
    assertThat(out.toString())
        .contains("agent: running, pid " + pid + " holds " + data.resolve("agent.lock"))
        .contains("verdict: PAUSED_BY_OWNER - paused by the owner until resumed")
        .contains("  owner pause: paused by the owner until resumed")
        .contains("batches: 1 of 1 slot(s)")
        .contains("  batch 7 attempt 1: SUSPENDED for 42 s (vacated after 10 min)")
        .doesNotContain("STALE");

    Files.writeString(data.resolve("status.json"), Files.readString(data.resolve("status.json"))
        .replaceAll("\"updatedAt\": \"[^\"]+\"", "\"updatedAt\": \"2020-01-01T00:00:00Z\""));
    assertThat(run("status", "--data-dir", data.toString())).isEqualTo(3);
    assertThat(out.toString()).contains("STALE");
  }
}
