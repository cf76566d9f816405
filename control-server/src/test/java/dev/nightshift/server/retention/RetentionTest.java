package dev.nightshift.server.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.DashboardSession;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MutableClock;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * The purge step driven directly on the settable clock against the real database: finished jobs lose exactly their
 * inputs, results, attempts and batches when their retention ends; running jobs keep everything; claims on other
 * jobs go on while a large job is being purged. The test server keeps finished jobs 30 days (the default).
 */
@NightshiftTest
class RetentionTest {
  private static final String[] TABLES = {"batch", "batch_input", "attempt", "batch_result"};
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired MutableClock clock;
  @Autowired RetentionService retention;
  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    CodeFixture.ensureRelease(port);
    admin = Http.admin(port);
  }

  @AfterEach
  void tearDown() {
    retention.duringChunks(null);
  }

  private int rows(String table, long jobId) {
    return jdbc.queryForObject("SELECT COUNT(*) FROM " + table + " WHERE job_id = ?", Integer.class, jobId);
  }

  private Map<String, Integer> rowsOf(long jobId) {
    Map<String, Integer> counts = new java.util.LinkedHashMap<>();
    for (String t : TABLES) {
      counts.put(t, rows(t, jobId));
    }
    return counts;
  }

  /** A job of three items in three batches, run to SUCCEEDED by a test agent. */
  private long finishedJob(String name, String retentionPeriod) {
    Map<String, Object> job = new java.util.LinkedHashMap<>();
    job.put("name", name);
    job.put("command", "cat");
    job.put("batchSize", 1);
    job.put("items", List.of(1, 2, 3));
    if (retentionPeriod != null) {
      job.put("retention", retentionPeriod);
    }
    long id = Jobs.submit(admin, job);
    TestAgent agent = TestAgent.enroll(port, name + "-agent", 3, Map.of());
    for (Lease lease : agent.claim(3, 0)) {
      assertThat(agent.complete(lease, "{\"done\":" + lease.batchId() + "}\n").status()).isEqualTo(200);
    }
    assertThat(Jobs.get(admin, id).get("state").asString()).isEqualTo("SUCCEEDED");
    return id;
  }

  @Test
  void finishedJobsLoseInputsResultsAndAttemptsWhenTheirRetentionEndsAndRunningJobsKeepEverything()
      throws Exception {
    long week = finishedJob("kept-a-week", "7d");
    long month = finishedJob("server-default", null);
    Map<String, Object> runningSpec = new java.util.LinkedHashMap<>(Jobs.range("running", "cat", 4, 1));
    runningSpec.put("retention", "1m");
    long running = Jobs.submit(admin, runningSpec);
    TestAgent agent = TestAgent.enroll(port, "runner", 2, Map.of());
    List<Lease> leases = agent.claim(2, 0);
    agent.complete(leases.get(0), "{\"partial\":1}\n");
    Map<String, Integer> runningRows = rowsOf(running);
    // One attempt row: the ended one (a running attempt is its leased batch row until its lease ends).
    assertThat(runningRows).containsEntry("batch", 4).containsEntry("attempt", 1).containsEntry("batch_result", 1);
    assertThat(rowsOf(week))
        .containsEntry("batch", 3)
        .containsEntry("batch_input", 3)
        .containsEntry("attempt", 3)
        .containsEntry("batch_result", 3);

    JsonNode before = Jobs.get(admin, week).get("retention");
    Instant finished = Instant.parse(Jobs.get(admin, week).get("finishedAt").asString());
    assertThat(before.get("period").asString()).isEqualTo("7d");
    assertThat(before.get("source").asString()).isEqualTo("job");
    assertThat(Instant.parse(before.get("purgeAfter").asString())).isEqualTo(finished.plus(Duration.ofDays(7)));
    assertThat(before.get("note").asString()).startsWith("results kept until " + finished.plus(Duration.ofDays(7)));
    JsonNode serverDefault = Jobs.get(admin, month).get("retention");
    assertThat(serverDefault.get("period").asString()).isEqualTo("30d");
    assertThat(serverDefault.get("source").asString()).isEqualTo("server");
    assertThat(Jobs.get(admin, running).get("retention").get("purgeAfter").isNull()).isTrue();
    assertThat(Jobs.get(admin, running).get("retention").get("note").asString()).contains("while the job runs");

    assertThat(retention.purgeDue()).as("nothing is due yet").isZero();
    clock.advance(Duration.ofDays(6));
    assertThat(retention.purgeDue()).isZero();
    Http.Response results = admin.get("/api/v1/jobs/" + week + "/results");
    assertThat(results.status()).as("exportable until the purge").isEqualTo(200);
    assertThat(results.body().lines()).hasSize(3);

    clock.advance(Duration.ofDays(1).plusMinutes(1));
    assertThat(retention.purgeDue()).isEqualTo(1);
    assertThat(rowsOf(week).values()).allMatch(n -> n == 0);
    assertThat(rowsOf(month))
        .containsEntry("batch", 3)
        .containsEntry("batch_input", 3)
        .containsEntry("attempt", 3)
        .containsEntry("batch_result", 3);
    assertThat(rowsOf(running)).as("a running job's rows are untouched").isEqualTo(runningRows);
    JsonNode purged = Jobs.get(admin, week);
    assertThat(purged.get("state").asString()).as("the job row and its counters stay").isEqualTo("SUCCEEDED");
    assertThat(purged.get("counts").get("succeeded").asInt()).isEqualTo(3);
    assertThat(purged.get("itemCount").asInt()).isEqualTo(3);
    assertThat(purged.get("versions")).hasSize(1);
    assertThat(purged.get("retention").get("purgedAt").isNull()).isFalse();
    assertThat(purged.get("retention").get("note").asString()).startsWith("inputs, results and attempts purged on");
    Http.Response gone = admin.get("/api/v1/jobs/" + week + "/results?format=csv");
    assertThat(gone.status()).as(gone.toString()).isEqualTo(410);
    assertThat(gone.isProblem()).isTrue();
    assertThat(gone.detail()).contains("purged on").contains("retention period");
    java.net.http.HttpClient browser = DashboardSession.login(port);
    assertThat(DashboardSession.get(browser, port, "/ui/jobs/" + week).body())
        .contains("inputs, results and attempts purged on");
    assertThat(DashboardSession.get(browser, port, "/ui/jobs/" + month).body()).contains("results kept until");

    clock.advance(Duration.ofDays(23));
    assertThat(retention.purgeDue()).isEqualTo(1);
    assertThat(rowsOf(month).values()).allMatch(n -> n == 0);
    assertThat(rowsOf(running)).as("still running after 30 days: untouched").isEqualTo(runningRows);
    assertThat(retention.purgeDue()).as("a purged job is purged once").isZero();
  }

  @Test
  void aRetriedFailedJobIsNotPurgedAndAPurgedOneCannotBeRetried() {
    Map<String, Object> spec = new java.util.LinkedHashMap<>(Jobs.range("fails", "false", 1, 1));
    spec.put("maxAttempts", 1);
    spec.put("retention", "1h");
    long id = Jobs.submit(admin, spec);
    TestAgent agent = TestAgent.enroll(port, "failer", 1, Map.of());
    fail(agent, agent.claim(1, 0).get(0));
    assertThat(Jobs.get(admin, id).get("state").asString()).isEqualTo("FAILED");
    admin.post("/api/v1/jobs/" + id + "/retry", "");
    clock.advance(Duration.ofHours(2));
    assertThat(retention.purgeDue()).as("running again: not finished").isZero();
    assertThat(rows("batch", id)).isEqualTo(1);
    fail(agent, agent.claim(1, 0).get(0));
    clock.advance(Duration.ofHours(2));
    assertThat(retention.purgeDue()).isEqualTo(1);
    Http.Response retry = admin.post("/api/v1/jobs/" + id + "/retry", "");
    assertThat(retry.status()).as(retry.toString()).isEqualTo(409);
    assertThat(retry.detail()).contains("was purged");
  }

  private static void fail(TestAgent agent, Lease lease) {
    agent.http.post(
        dev.nightshift.protocol.AgentPaths.FAIL,
        new dev.nightshift.protocol.FailRequest(
            lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(),
            dev.nightshift.protocol.AttemptOutcome.FAILED, 1, null, null, "exit 1", "boom"));
  }

  /**
   * A finished job of 3,000 batches is purged while another job waits to be claimed: inside a purge chunk's open
   * transaction (its row locks held) an agent claims from the other job and gets its batch, because the purge
   * locks only the purged job's own rows and claims skip nothing of theirs.
   */
  @Test
  void claimsOnOtherJobsProceedWhileALargeFinishedJobIsPurged() {
    long big = Jobs.submit(admin, Jobs.range("big", "cat", 3_000, 1));
    Instant now = clock.instant();
    jdbc.update(
        "UPDATE batch SET state = 'SUCCEEDED', attempts = 1, finished_at = ? WHERE job_id = ?",
        java.sql.Timestamp.from(now), big);
    jdbc.update(
        "INSERT INTO attempt (batch_id, job_id, number, worker_id, lease_token, outcome, claimed_at, finished_at)"
            + " SELECT id, job_id, 1, 'w', CONCAT('t', id), 'SUCCEEDED', ?, ? FROM batch WHERE job_id = ?",
        java.sql.Timestamp.from(now), java.sql.Timestamp.from(now), big);
    jdbc.update(
        "INSERT INTO batch_result (batch_id, job_id, seq, output)"
            + " SELECT b.id, b.job_id, b.seq, CONCAT('{\"n\":', b.seq, '}') FROM batch b WHERE b.job_id = ?",
        big);
    jdbc.update(
        "UPDATE job SET state = 'SUCCEEDED', pending_count = 0, succeeded_count = 3000, succeeded_items = 3000,"
            + " started_at = ?, finished_at = ? WHERE id = ?",
        java.sql.Timestamp.from(now), java.sql.Timestamp.from(now), big);
    long other = Jobs.submit(admin, Jobs.range("other", "cat", 2, 1));
    TestAgent agent = TestAgent.enroll(port, "claimer", 1, Map.of());

    AtomicReference<List<Lease>> claimed = new AtomicReference<>();
    java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    retention.duringChunks(
        table -> {
          seen.add(table);
          if (table.equals("batch") && claimed.get() == null) {
            claimed.set(agent.claim(1, 0)); // the chunk's delete holds its locks until this returns
          }
        });
    clock.advance(Duration.ofDays(31));
    assertThat(retention.purgeDue()).isEqualTo(1);

    assertThat(seen).containsExactlyInAnyOrder("batch_result", "batch_input", "attempt", "batch");
    assertThat(claimed.get()).as("a claim during the purge of the batch table").hasSize(1);
    assertThat(claimed.get().get(0).jobId()).isEqualTo(other);
    assertThat(rowsOf(big).values()).allMatch(n -> n == 0);
    assertThat(rows("batch", other)).isEqualTo(2);
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch WHERE job_id = ? AND state = 'LEASED'",
        Integer.class, other)).isEqualTo(1);
  }
}
