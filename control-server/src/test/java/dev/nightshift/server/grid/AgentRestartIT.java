package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * An agent SIGKILLed with finished results in its spool and a batch still running, restarted on its data dir,
 * against a server with production lease settings (lease 2 min, claim grace 60 s, offline timeout 90 s): the new
 * process takes the identity over at once (it names its predecessor), reports the spooled results (accepted once,
 * never rerun), and the killed batch is requeued at its first heartbeat, so the job finishes well inside any of
 * those timeouts. Before, the restarted agent was refused for up to 90 s and the killed batch waited for its lease.
 */
class AgentRestartIT {
  @TempDir static Path dir;
  static ServerProcess server;

  @BeforeAll
  static void startServer() throws Exception {
    server =
        ServerProcess.start(
            dir.resolve("server"),
            Map.of("NIGHTSHIFT_LEASE_HEARTBEAT_INTERVAL", "2s", "NIGHTSHIFT_RETRY_INITIAL_BACKOFF", "1s"),
            List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      signal("CONT", server.pid());
      server.close();
    }
  }

  @Test
  void aKilledAgentRestartedOnItsDataDirResumesAtOnceReportsItsSpoolAndRequeuesWhatItLost() throws Exception {
    Path markers = Files.createDirectories(dir.resolve("markers"));
    // Each item is a number of seconds to sleep, the first time only (a marker file makes a rerun quick).
    String script =
        "read n; if [ -e '" + markers + "'/$n ]; then echo $n; else touch '" + markers + "'/$n; sleep $n; echo $n; fi";
    Map<String, Object> job = new HashMap<>();
    job.put("name", "restart");
    job.put("command", script);
    job.put("batchSize", 1);
    job.put("items", List.of(1, 2, 40));
    long jobId = Jobs.submit(server.admin(), job);
    Path data = dir.resolve("agent");

    List<Long> spooled;
    try (AgentProcess first =
        AgentProcess.start("run", server.url(), data, "first.log", "--slots", "3", "--name", "restarts")) {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> markerCount(markers) == 3); // all three scripts run (the code is checked out)
      // The server stops answering: the two short batches finish and wait in the spool, the long one runs on.
      signal("STOP", server.pid());
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> spooled(data).size() == 2);
        spooled = spooled(data);
        first.kill();
      } finally {
        signal("CONT", server.pid());
      }
    }

    long restartedAt = System.nanoTime();
    try (AgentProcess second =
        AgentProcess.start("run", server.url(), data, "second.log", "--slots", "3", "--name", "restarts")) {
      await()
          .atMost(Duration.ofSeconds(45)) // well inside the claim grace (60 s) and the offline timeout (90 s)
          .pollInterval(Duration.ofMillis(250))
          .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
      long seconds = (System.nanoTime() - restartedAt) / 1_000_000_000L;

      assertThat(second.logText())
          .as("the restarted process was never refused")
          .doesNotContain("already using this identity");
      assertThat(spooled(data)).as("the spool was reported and emptied").isEmpty();
      assertThat(server.admin().get("/api/v1/jobs/" + jobId + "/results").body().lines().sorted().toList())
          .containsExactly("1", "2", "40");

      JsonNode batches = server.admin().get("/api/v1/jobs/" + jobId + "/batches?limit=10").json().get("items");
      List<String> lost = new ArrayList<>();
      for (JsonNode b : batches) {
        long id = b.get("id").asLong();
        JsonNode history = server.admin().get("/api/v1/batches/" + id).json().get("attemptHistory");
        if (spooled.contains(id)) {
          assertThat(history).as("batch %d: its spooled result was accepted, not rerun", id).hasSize(1);
          assertThat(history.get(0).get("outcome").asString()).isEqualTo("SUCCEEDED");
        } else {
          assertThat(history).as("batch %d was running when the agent died", id).hasSize(2);
          lost.add(history.get(0).get("error").asString());
        }
      }
      assertThat(lost)
          .singleElement()
          .asString()
          .as("requeued by the restarted agent's heartbeat, not by the lease reaper")
          .contains("the agent restarted")
          .doesNotContain("lease expired");
      System.out.printf("restarted agent: job done %d s after the restart%n", seconds);
    }
  }

  /** The batch ids of the results waiting in the agent's spool ({@code <batchId>-<attempt>.json}). */
  static List<Long> spooled(Path data) throws IOException {
    Path spool = data.resolve("spool");
    if (!Files.isDirectory(spool)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(spool)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".json"))
          .map(n -> Long.parseLong(n.substring(0, n.indexOf('-'))))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  static long markerCount(Path markers) throws IOException {
    try (Stream<Path> files = Files.list(markers)) {
      return files.count();
    }
  }

  static void signal(String signal, long pid) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
  }
}
