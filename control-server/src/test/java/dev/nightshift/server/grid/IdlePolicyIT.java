package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The idle policy with real agents: an agent outside its windows claims nothing and says why; the owner's pause
 * suspends a running batch, and after --vacate-after the batch is vacated, requeued at once and finished by
 * another agent, its first attempt recorded as VACATED.
 */
@EnabledOnOs({OS.LINUX, OS.MAC}) // SIGSTOP-based suspension; the script is sh
class IdlePolicyIT {
  @TempDir static Path dir;
  static ServerProcess server;

  @BeforeAll
  static void startServer() throws Exception {
    server = ServerProcess.start(dir.resolve("server"), ServerProcess.fastLeases(), List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anAgentOutsideItsWindowsClaimsNothingAndSaysWhy() throws Exception {
    // a one-hour window three days from now: never today, never spanning into today (the agent's zone is ours)
    DayOfWeek day = ZonedDateTime.now().plusDays(3).getDayOfWeek();
    String window = day.getDisplayName(TextStyle.SHORT, Locale.ENGLISH) + " 01:00-02:00";
    long jobId = Jobs.submit(server.admin(), Jobs.range("outside-window", "echo \"$NIGHTSHIFT_RANGE_START\"", 1, 1));

    try (AgentProcess agent =
        AgentProcess.start("run", server.url(), dir.resolve("agent-window"), "agent-window.log",
            "--name", "night-only", "--idle-policy", "always", "--window", window)) {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
          .until(() -> {
            JsonNode w = server.workerNamed("night-only");
            return w != null && "OUTSIDE_WINDOW".equals(w.get("state").asString());
          });
      JsonNode w = server.workerNamed("night-only");
      assertThat(w.get("reason").asString())
          .startsWith("outside the windows " + window + "; next window opens " + window.substring(0, 4) + "01:00");

      // several heartbeats and idle checks later, still nothing claimed
      await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(500))
          .until(() -> GridEndToEndIT.runningBatches(server, "night-only") == 0
              && !Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
      assertThat(GridEndToEndIT.runningBatches(server, "night-only")).isZero();
      assertThat(agent.logText()).contains("idle verdict: OUTSIDE_WINDOW").doesNotContain("started:");

      AgentProcess.CliResult status = AgentProcess.cli("status", "--data-dir", dir.resolve("agent-window").toString());
      assertThat(status.output()).as(status.output()).contains("verdict: OUTSIDE_WINDOW - outside the windows");
    } finally {
      server.admin().post("/api/v1/jobs/" + jobId + "/cancel", Map.of());
    }
  }

  @Test
  void pauseSuspendsTheBatchThenVacatesItAndAnotherAgentFinishesIt() throws Exception {
    // the first run of the batch takes long (it is the one paused); the rerun finishes at once
    Path marker = dir.resolve("first-run");
    String command = "if mkdir '" + marker + "' 2>/dev/null; then sleep 120; fi; echo \"done $NIGHTSHIFT_RANGE_START\"";
    long jobId = Jobs.submit(server.admin(), Jobs.range("pause-vacate", command, 1, 1));
    Path pausedData = dir.resolve("agent-paused");

    try (AgentProcess owner =
        AgentProcess.start("run", server.url(), pausedData, "agent-paused.log", "--name", "owners-pc",
            "--idle-policy", "always", "--vacate-after", "3s")) {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
          .until(() -> GridEndToEndIT.runningBatches(server, "owners-pc") > 0);
      long batchId = server.admin().get("/api/v1/jobs/" + jobId + "/batches?limit=10").json()
          .get("items").get(0).get("id").asLong();

      AgentProcess.CliResult pause = AgentProcess.cli("pause", "--data-dir", pausedData.toString(), "--for", "1h");
      assertThat(pause.exitCode()).as(pause.output()).isZero();
      assertThat(pause.output()).contains("paused for 60 min").contains("the running agent (pid " + owner.process.pid());

      // the batch is suspended and the agent says why, locally and to the server
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
          .until(() -> {
            AgentProcess.CliResult s = AgentProcess.cli("status", "--data-dir", pausedData.toString());
            return s.output().contains("verdict: PAUSED_BY_OWNER") && s.output().contains("SUSPENDED");
          });
      AgentProcess.CliResult status = AgentProcess.cli("status", "--data-dir", pausedData.toString());
      assertThat(status.output()).contains("agent: running, pid " + owner.process.pid())
          .contains("owner pause: paused by the owner until");
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
          .until(() -> "PAUSED_BY_OWNER".equals(
              server.workerNamed("owners-pc").get("state").asString()));

      // after --vacate-after the batch is given back at once; another agent finishes it
      try (AgentProcess other =
          AgentProcess.start("run", server.url(), dir.resolve("agent-other"), "agent-other.log", "--name", "spare-pc",
              "--idle-policy", "always")) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
            .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
      }
      assertThat(server.admin().get("/api/v1/jobs/" + jobId + "/results").body()).isEqualTo("done 0\n");
      JsonNode history = server.admin().get("/api/v1/batches/" + batchId).json().get("attemptHistory");
      assertThat(history).as(history.toString()).hasSize(2);
      assertThat(history.get(0).get("outcome").asString()).isEqualTo("VACATED");
      assertThat(history.get(1).get("outcome").asString()).isEqualTo("SUCCEEDED");
      assertThat(owner.logText()).contains("suspended, vacated unless idle again within 3 s").contains("vacating");
      assertThat(owner.process.isAlive()).isTrue();

      AgentProcess.CliResult resume = AgentProcess.cli("resume", "--data-dir", pausedData.toString());
      assertThat(resume.output()).startsWith("resumed: the pause is over");
    }
  }
}
