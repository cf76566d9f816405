package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.protocol.GtidPositions;
import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MariaDbProcess;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Reference data with real parts (docs/reference-data.md): a MariaDB primary and a replica of it on loopback ports,
 * a server process and a real agent given the replica as its data source. While replication runs, a job that
 * requires fresh data runs and every attempt records the GTID position; with the replica's SQL thread stopped and
 * a write on the primary, the freshness rules (max lag, and "at least the primary's new position") hold the batches
 * back, and the worker's reported data says why; when the replica runs again and catches up, they are released, and
 * their attempts record a position that contains the write.
 */
class ReferenceDataIT {
  @TempDir static Path dir;
  static MariaDbProcess primary;
  static MariaDbProcess replica;
  static ServerProcess server;

  @BeforeAll
  static void start() throws Exception {
    String missing = MariaDbProcess.missing();
    Assumptions.assumeTrue(missing == null, "no private MariaDB for a primary and a replica: " + missing);
    primary =
        MariaDbProcess.install(
            dir.resolve("primary"), ServerProcess.freePort(),
            List.of("--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW"));
    replica =
        MariaDbProcess.install(
            dir.resolve("replica"), ServerProcess.freePort(), List.of("--server-id=2", "--read-only=ON"));
    sql(primary, "CREATE DATABASE ref");
    sql(primary, "CREATE TABLE ref.rate (id INT PRIMARY KEY, value INT NOT NULL)");
    sql(primary, "INSERT INTO ref.rate VALUES (1, 100)");
    // the scripts' and the probe's user: read the data, see the replication status (MariaDB 10.5+: SLAVE MONITOR)
    sql(primary, "CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'reader-secret'");
    sql(primary, "GRANT SELECT ON ref.* TO 'reader'@'127.0.0.1'");
    sql(primary, "GRANT SLAVE MONITOR ON *.* TO 'reader'@'127.0.0.1'");
    sql(
        replica,
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" + primary.port()
            + ", MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1");
    sql(replica, "START SLAVE");
    awaitCaughtUp();

    server = ServerProcess.start(dir.resolve("server"), ServerProcess.fastLeases(), List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (replica != null) {
      replica.close();
    }
    if (primary != null) {
      primary.close();
    }
  }

  @Test
  void freshnessHoldsBatchesBackUntilTheReplicaCatchesUpAndAttemptsRecordThePosition() throws Exception {
    Path passwordFile = dir.resolve("reader.password");
    Files.writeString(passwordFile, "reader-secret\n");
    Http admin = server.admin();
    String command =
        "echo \"pos=$NIGHTSHIFT_DATA_POSITION url=$NIGHTSHIFT_DATA_SOURCE_URL user=$NIGHTSHIFT_DATA_SOURCE_USER"
            + " pw=${#NIGHTSHIFT_DATA_SOURCE_PASSWORD}\"";
    try (AgentProcess agent =
        AgentProcess.start("run", server.url(), dir.resolve("agent"), "agent.log",
            "--name", "replica-pc", "--idle-policy", "always",
            "--data-source", "jdbc:mariadb://127.0.0.1:" + replica.port() + "/ref",
            "--data-source-user", "reader",
            "--data-source-password-file", passwordFile.toString())) {
      // 1. replication runs: the worker reports it, and a job that needs fresh data runs on it
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
          .until(() -> dataOf("replica-pc") != null && dataOf("replica-pc").get("replicating").asBoolean());
      String before = position(primary, "gtid_current_pos");
      long fresh = Jobs.submit(admin, freshJob("fresh-data", command, Map.of("maxDataLagSeconds", 600)));
      awaitSucceeded(fresh);
      List<JsonNode> attempts = attempts(fresh);
      assertThat(attempts).isNotEmpty();
      for (JsonNode a : attempts) {
        assertThat(a.get("dataPosition").asString()).isEqualTo(before);
      }
      String results = admin.get("/api/v1/jobs/" + fresh + "/results").body();
      assertThat(results)
          .contains("pos=" + before)
          .contains("url=jdbc:mariadb://127.0.0.1:" + replica.port() + "/ref")
          .contains("user=reader")
          .contains("pw=" + "reader-secret".length());
      JsonNode view = Jobs.get(admin, fresh);
      assertThat(view.get("maxDataLagSeconds").asInt()).isEqualTo(600);
      assertThat(view.get("data").get(0).get("position").asString()).isEqualTo(before);

      // 2. the replica's SQL thread stops and the primary moves on: the worker reports it, the rules hold back
      sql(replica, "STOP SLAVE SQL_THREAD");
      sql(primary, "UPDATE ref.rate SET value = 101 WHERE id = 1");
      String after = position(primary, "gtid_current_pos");
      assertThat(after).isNotEqualTo(before);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
          .until(() -> !dataOf("replica-pc").get("replicating").asBoolean());
      assertThat(dataOf("replica-pc").get("error").asString()).contains("replication stopped");
      // one more heartbeat: a claim the agent parked before the report is matched against the new data too
      String seenAt = server.workerNamed("replica-pc").get("lastHeartbeatAt").asString();
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
          .until(() -> !server.workerNamed("replica-pc").get("lastHeartbeatAt").asString().equals(seenAt));
      long lagRule = Jobs.submit(admin, freshJob("needs-running-replica", command, Map.of("maxDataLagSeconds", 600)));
      long positionRule = Jobs.submit(admin, freshJob("needs-the-update", command, Map.of("minDataPosition", after)));
      // several heartbeats and claims later, neither job has run anything (the agent is idle and claiming)
      await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(12)).pollInterval(Duration.ofMillis(500))
          .until(() -> untouched(lagRule) && untouched(positionRule));
      assertThat(GridEndToEndIT.runningBatches(server, "replica-pc")).isZero();

      // 3. replication runs again and the replica catches up: both jobs are released and record the new position
      sql(replica, "START SLAVE SQL_THREAD");
      awaitSucceeded(lagRule);
      awaitSucceeded(positionRule);
      for (long job : new long[] {lagRule, positionRule}) {
        for (JsonNode a : attempts(job)) {
          assertThat(GtidPositions.covers(a.get("dataPosition").asString(), after))
              .as("attempt of job %d ran against %s, which must contain %s", job, a.get("dataPosition"), after)
              .isTrue();
        }
      }
    }
  }

  private static Map<String, Object> freshJob(String name, String command, Map<String, Object> rule) {
    Map<String, Object> job = Jobs.range(name, command, 2, 1);
    job.putAll(rule);
    return job;
  }

  private static JsonNode dataOf(String worker) {
    JsonNode w = server.workerNamed(worker);
    return w == null || w.get("data") == null || w.get("data").isNull() ? null : w.get("data");
  }

  private static boolean untouched(long jobId) {
    JsonNode counts = Jobs.get(server.admin(), jobId).get("counts");
    return counts.get("leased").asInt() == 0 && counts.get("succeeded").asInt() == 0
        && counts.get("pending").asInt() == 2;
  }

  private static void awaitSucceeded(long jobId) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
        .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
  }

  private static List<JsonNode> attempts(long jobId) {
    List<JsonNode> attempts = new ArrayList<>();
    for (JsonNode b : server.admin().get("/api/v1/jobs/" + jobId + "/batches").json().get("items")) {
      for (JsonNode a : server.admin().get("/api/v1/batches/" + b.get("id").asLong()).json().get("attemptHistory")) {
        if (a.get("outcome").asString().equals("SUCCEEDED")) {
          attempts.add(a);
        }
      }
    }
    return attempts;
  }

  private static void awaitCaughtUp() {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> position(replica, "gtid_slave_pos").equals(position(primary, "gtid_current_pos")));
  }

  private static String position(MariaDbProcess db, String variable) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.serverUrl(), "root", "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT @@GLOBAL." + variable)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static void sql(MariaDbProcess db, String statement) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.serverUrl(), "root", "");
        Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }
}
