package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The whole grid for real: the built server jar, real agent processes running a real shell command; one agent is
 * SIGKILLed mid-batch and every item's result still appears exactly once.
 */
class GridEndToEndIT {
  @TempDir static Path dir;
  static ServerProcess server;

  /** Prints each item with its batch, slowly enough that a batch is still running when its agent dies. */
  static final String SCRIPT =
      "while IFS= read -r line; do printf '{\"item\":%s,\"batch\":%s}\\n' \"$line\" \"$NIGHTSHIFT_BATCH_ID\"; done;"
          + " sleep 1";

  @BeforeAll
  static void startServer() throws Exception {
    server = ServerProcess.start(dir.resolve("server"), ServerProcess.fastLeases(), List.of("-Xmx384m"));
    dev.nightshift.server.testing.CodeFixture.ensureRelease(server.port);
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void twoAgentsOneKilledMidBatchEveryItemExactlyOnce() throws Exception {
    int items = 1_200;
    Map<String, Object> job = new HashMap<>();
    job.put("name", "e2e");
    job.put("command", SCRIPT);
    job.put("batchSize", 20);
    job.put("items", IntStream.range(0, items).boxed().toList());
    job.put("timeoutSeconds", 60);
    long jobId = Jobs.submit(server.admin(), job);

    try (AgentProcess doomed =
            AgentProcess.start("run", server.url(), dir.resolve("agent-1"), "agent-1.log", "--slots", "2",
                "--name", "doomed");
        AgentProcess survivor =
            AgentProcess.start("run", server.url(), dir.resolve("agent-2"), "agent-2.log", "--slots", "2",
                "--name", "survivor")) {
      // Wait until the doomed agent is mid-batch, then SIGKILL it: no release, no report, no goodbye.
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> runningBatches(server, "doomed") > 0);
      doomed.kill();

      await()
          .atMost(Duration.ofSeconds(180))
          .pollInterval(Duration.ofMillis(500))
          .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));

      String results = server.admin().get("/api/v1/jobs/" + jobId + "/results").body();
      Map<Integer, Long> seen =
          results
              .lines()
              .map(line -> Http.JSON.readTree(line).get("item").asInt())
              .collect(Collectors.groupingBy(i -> i, Collectors.counting()));
      assertThat(seen).hasSize(items);
      assertThat(seen.values()).allMatch(count -> count == 1);

      // The killed agent's leases expired and were rerun by the survivor.
      JsonNode batches = server.admin().get("/api/v1/jobs/" + jobId + "/batches?limit=1000").json().get("items");
      long rerun = 0;
      for (JsonNode b : batches) {
        if (b.get("attempts").asInt() > 1) {
          rerun++;
          JsonNode history = server.admin().get("/api/v1/batches/" + b.get("id").asLong()).json();
          assertThat(history.get("attemptHistory").get(0).get("outcome").asString()).isEqualTo("EXPIRED");
        }
      }
      assertThat(rerun).as("batches rerun after the kill").isPositive();
      assertThat(survivor.process.isAlive()).isTrue();
    }
  }

  @Test
  void aSecondAgentOnTheSameDataDirExitsAtOnceAndOnceModeDrainsTheQueue() throws Exception {
    Path data = dir.resolve("agent-once");
    try (AgentProcess first =
        AgentProcess.start("run", server.url(), data, "first.log", "--slots", "1", "--name", "first")) {
      await().atMost(Duration.ofSeconds(60)).until(() -> server.workerNamed("first") != null);
      AgentProcess second = AgentProcess.start("once", server.url(), data, "second.log");
      assertThat(second.waitFor(60)).isZero();
      assertThat(second.logText()).contains("pid " + first.process.pid());
    }

    Map<String, Object> job = Jobs.range("cron", "echo \"$NIGHTSHIFT_RANGE_START-$NIGHTSHIFT_RANGE_END\"", 50, 10);
    long jobId = Jobs.submit(server.admin(), job);
    AgentProcess cron = AgentProcess.start("once", server.url(), dir.resolve("agent-cron"), "cron.log", "--slots", "2");
    assertThat(cron.waitFor(120)).as("once exits when the queue is empty").isZero();
    assertThat(Jobs.get(server.admin(), jobId).get("state").asString()).as(cron.logText()).isEqualTo("SUCCEEDED");
    assertThat(server.admin().get("/api/v1/jobs/" + jobId + "/results").body())
        .isEqualTo("0-10\n10-20\n20-30\n30-40\n40-50\n");
  }

  static int runningBatches(ServerProcess server, String name) {
    Http admin = server.admin();
    JsonNode w = server.workerNamed(name);
    if (w == null) {
      return 0;
    }
    return admin.get("/api/v1/workers/" + w.get("id").asString()).json().get("running").size();
  }
}
