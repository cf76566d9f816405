package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Security with real processes: a script never sees the agent's secrets; a cloned agent (a copy of the data dir) is
 * found out and refused with a message saying why while the original keeps working; a revoked agent stops at once.
 */
class AgentSecurityIT {
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
  void anAgentRefusesPlainHttpToAnotherMachineAndDataDirsArePrivate() throws Exception {
    // tries: a real agent told to use plain http:// to an address that is not this machine (TEST-NET-1)
    Path data = dir.resolve("agent-insecure");
    try (AgentProcess agent =
        AgentProcess.start("once", "http://192.0.2.1:" + server.port, data, "agent-insecure.log")) {
      assertThat(agent.waitFor(60)).as(agent.logText()).isEqualTo(2);
      assertThat(agent.logText()).contains("refusing plain http:// to 192.0.2.1, which is not this machine")
          .contains("--allow-insecure-http");
    }
    // the server's data directory (Git repository, embedded database) is its OS user's only
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(server.dataDir))).isEqualTo("rwx------");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(server.dataDir.resolve("git")))).isEqualTo("rwx------");
  }

  @Test
  void aScriptCannotSeeTheAgentTokenOrTheEnrollmentToken() throws Exception {
    Path data = dir.resolve("agent-env");
    long jobId =
        Jobs.submit(
            server.admin(),
            Jobs.range("print env", "env", 2, 1));
    try (AgentProcess agent =
        AgentProcess.start("run", server.url(), data, "agent-env.log", "--slots", "1", "--name", "env-agent")) {
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(500))
          .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
      String token = Http.JSON.readTree(Files.readString(data.resolve("identity.json"))).get("agentToken").asString();
      assertThat(token).startsWith("nsa_");
      String results = server.admin().get("/api/v1/jobs/" + jobId + "/results").body();
      assertThat(results).as("the script ran and printed its environment").contains("NIGHTSHIFT_JOB_ID=" + jobId);
      assertThat(results)
          .doesNotContain(token)
          .doesNotContain(token.substring(4))
          .doesNotContain(Http.ENROLLMENT_TOKEN)
          .doesNotContain("NIGHTSHIFT_ENROLLMENT_TOKEN")
          .doesNotContain("NIGHTSHIFT_SERVER");
      // Nor do the agent's log, the server's log, or any API answer.
      assertThat(agent.logText()).doesNotContain(token).doesNotContain(Http.ENROLLMENT_TOKEN);
      assertThat(server.logText()).doesNotContain(token).doesNotContain(Http.ENROLLMENT_TOKEN);
      JsonNode worker = server.admin().get("/api/v1/workers").json();
      assertThat(worker.toString()).doesNotContain(token);
    }
  }

  @Test
  void aClonedAgentIsRefusedWithTheReasonWhileTheOriginalKeepsWorkingAndARevokedOneStops() throws Exception {
    Path original = dir.resolve("agent-original");
    try (AgentProcess first =
        AgentProcess.start("run", server.url(), original, "original.log", "--slots", "1", "--name", "original")) {
      await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(original.resolve("identity.json")));
      await().atMost(Duration.ofSeconds(30)).until(() -> first.logText().contains("enrolled"));
      // A VM cloned with the agent's data directory: the same identity.json, and the same 'instance' file, so the
      // copy names the running original as its predecessor and takes over; the original's next call (after the
      // grace for requests of a killed process) finds the copy out, and it is refused for good.
      Path clone = dir.resolve("agent-clone");
      Files.createDirectories(clone);
      Files.copy(original.resolve("identity.json"), clone.resolve("identity.json"));
      Files.copy(original.resolve("instance"), clone.resolve("instance"));
      try (AgentProcess second =
          AgentProcess.start("run", server.url(), clone, "clone.log", "--slots", "1", "--name", "clone")) {
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(300))
            .until(() -> second.logText().contains("runs on a copy of another agent's data dir"));
        assertThat(second.logText())
            .contains("HTTP 409")
            .contains("delete identity.json in its data dir and enroll it again");
        assertThat(server.logText()).contains("is refused from now on");
        assertThat(second.process.isAlive()).as("it backs off, it does not die").isTrue();

        long jobId = Jobs.submit(server.admin(), Jobs.range("still works", "echo $NIGHTSHIFT_RANGE_START", 3, 1));
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(500))
            .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
        assertThat(server.workerNamed("clone")).as("the clone did not enroll behind our back").isNull();
      }

      // Revoked: every call of the original is refused at once; it is listed as DISABLED.
      String workerId = server.workerNamed("original").get("id").asString();
      assertThat(server.admin().post("/api/v1/workers/" + workerId + "/revoke", "").status()).isEqualTo(200);
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(300))
          .until(() -> first.logText().contains("HTTP 401") || first.logText().contains("agent token refused"));
      assertThat(server.admin().get("/api/v1/workers/" + workerId).json().get("state").asString())
          .isEqualTo("DISABLED");
      assertThat(server.admin().get("/api/v1/audit?action=revoke").json().get("items").get(0).get("target").asString())
          .contains(workerId);
    }
  }
}
