package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.DataState;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The freshness rule in the claim path (docs/reference-data.md): the predicate itself, and over real HTTP a worker
 * whose reported reference data does not meet a job's rule is not handed its batches until a heartbeat reports
 * data that does; the position the agent reports with the result is recorded on the attempt. Bad rules are
 * refused with problem+json.
 */
@NightshiftTest
class FreshnessTest {
  static final DataState CURRENT = new DataState(true, 3L, "0-1-120", null);
  static final DataState BEHIND = new DataState(true, 7200L, "0-1-90", null);
  static final DataState STOPPED = new DataState(false, null, "0-1-100", "replication stopped (IO thread Yes, SQL thread No)");

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
    admin = Http.admin(port);
  }

  @Test
  void thePredicateMatchesLagRunningReplicationAndPosition() {
    Freshness lag = new Freshness(600, null);
    assertThat(lag.metBy(CURRENT)).isTrue();
    assertThat(lag.why(BEHIND)).isEqualTo("replica 2 h behind (at most 10 min allowed)");
    assertThat(lag.why(STOPPED)).isEqualTo("replication stopped");
    assertThat(lag.why(null)).isEqualTo("no reference data");
    assertThat(lag.why(new DataState(true, null, "0-1-1", null))).isEqualTo("replica lag unknown");

    Freshness position = new Freshness(null, "0-1-100");
    assertThat(position.metBy(CURRENT)).isTrue();
    assertThat(position.metBy(STOPPED)).as("a stopped replica that has the position meets a position rule").isTrue();
    assertThat(position.why(BEHIND)).isEqualTo("replica at 0-1-90, needs 0-1-100");
    assertThat(position.why(null)).isEqualTo("no reference data");

    assertThat(Freshness.ANY.metBy(null)).isTrue();
    BatchEngine.Candidate c = new BatchEngine.Candidate(1, 0, Map.of("os", "linux"), null, 0, 5, lag);
    assertThat(c.fits(Map.of("os", "linux"), CURRENT)).isTrue();
    assertThat(c.fits(Map.of("os", "linux"), BEHIND)).isFalse();
    assertThat(c.fits(Map.of("os", "windows"), CURRENT)).isFalse();
  }

  @Test
  void aWorkerBehindIsNotHandedTheBatchesUntilItCatchesUpAndTheAttemptRecordsItsPosition() throws Exception {
    long fresh = Jobs.submit(admin, withRule(Jobs.range("fresh", "true", 2, 1), Map.of("maxDataLagSeconds", 600)));
    TestAgent agent = TestAgent.enroll(port, "replica-pc", 2, Map.of());

    assertThat(agent.claim(2, 0)).as("no reference data reported yet").isEmpty();
    heartbeat(agent, BEHIND);
    assertThat(agent.claim(2, 0)).as("2 h behind").isEmpty();
    heartbeat(agent, STOPPED);
    assertThat(agent.claim(2, 0)).as("replication stopped").isEmpty();
    long any = Jobs.submit(admin, Jobs.range("any-data", "true", 1, 1));
    List<Lease> anyLeases = agent.claim(2, 0);
    assertThat(anyLeases).as("a job without a rule still runs").extracting(Lease::jobId).containsExactly(any);
    // Done, so both slots are free again (a worker never holds more leases than its slots).
    assertThat(agent.complete(anyLeases.get(0), "ok\n").status()).isEqualTo(200);

    heartbeat(agent, CURRENT);
    List<Lease> leases = agent.claim(2, 0);
    assertThat(leases).extracting(Lease::jobId).containsExactly(fresh, fresh);
    java.time.Instant now = java.time.Instant.now();
    for (Lease l : leases) {
      Http.Response r =
          agent.http.post(
              AgentPaths.COMPLETE,
              new dev.nightshift.protocol.CompleteRequest(
                  l.batchId(), l.leaseToken(), l.commit(), l.version(), 0, now, now, "ok\n", "", CURRENT));
      assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }
    var view = Jobs.get(admin, fresh);
    assertThat(view.get("maxDataLagSeconds").asInt()).isEqualTo(600);
    assertThat(view.get("data").get(0).get("position").asString()).isEqualTo("0-1-120");
    assertThat(view.get("data").get(0).get("batches").asInt()).isEqualTo(2);
    assertThat(view.get("data").get(0).get("maxLagSeconds").asLong()).isEqualTo(3);
    long batchId = leases.get(0).batchId();
    var attempt = admin.get("/api/v1/batches/" + batchId).json().get("attemptHistory").get(0);
    assertThat(attempt.get("dataPosition").asString()).isEqualTo("0-1-120");
    assertThat(attempt.get("dataLagSeconds").asLong()).isEqualTo(3);
    var worker = admin.get("/api/v1/workers/" + agent.workerId).json();
    assertThat(worker.get("data").get("position").asString()).isEqualTo("0-1-120");

    var pages = dev.nightshift.server.testing.DashboardPages.admin(port);
    var jobPage = pages.get("/ui/jobs/" + fresh);
    assertThat(jobPage.statusCode()).isEqualTo(200);
    assertThat(jobPage.body())
        .contains("Data versions seen")
        .contains("<code>0-1-120</code>")
        .contains("replica running, at most 10 min behind");
    assertThat(pages.get("/ui/workers").body()).contains("replicating, 3 s behind @ 0-1-120");
  }

  @Test
  void theDashboardSaysWhyAJobWaitsForFreshData() throws Exception {
    long job = Jobs.submit(admin, withRule(Jobs.range("waits", "true", 1, 1), Map.of("maxDataLagSeconds", 600)));
    TestAgent agent = TestAgent.enroll(port, "lagging-pc", 1, Map.of());
    heartbeat(agent, BEHIND);
    var page = dev.nightshift.server.testing.DashboardPages.admin(port).get("/ui/jobs/" + job);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains("Reference data not fresh enough")
        .contains("lagging-pc: replica 2 h behind (at most 10 min allowed)");
  }

  @Test
  void aMinimumPositionWaitsForTheReplicaToApplyIt() {
    long job = Jobs.submit(admin, withRule(Jobs.range("after-update", "true", 1, 1), Map.of("minDataPosition", "0-1-110")));
    TestAgent agent = TestAgent.enroll(port, "replica-pc", 1, Map.of());
    heartbeat(agent, BEHIND);
    assertThat(agent.claim(1, 0)).isEmpty();
    heartbeat(agent, CURRENT);
    assertThat(agent.claim(1, 0)).extracting(Lease::jobId).containsExactly(job);
  }

  /**
   * Bad rules tried: a negative lag, a lag above 30 days, a lag that is no number, an empty position, a position
   * that is neither MariaDB's domain-server-seq nor MySQL's uuid:interval, a MySQL interval that ends before it
   * starts, and a bad lag as a query parameter of an NDJSON upload.
   */
  @Test
  void badRulesAreRefusedWithWhatToFix() {
    assertProblem(post(Map.of("maxDataLagSeconds", -1)), 400, "maxDataLagSeconds must be from 0 to 2592000");
    assertProblem(post(Map.of("maxDataLagSeconds", 2592001)), 400, "maxDataLagSeconds must be from 0 to 2592000");
    assertProblem(post(Map.of("maxDataLagSeconds", "soon")), 400, "maxDataLagSeconds");
    assertProblem(post(Map.of("minDataPosition", "")), 400, "minDataPosition: a GTID position must not be empty");
    assertProblem(post(Map.of("minDataPosition", "yesterday")), 400, "'yesterday' is not a GTID position");
    assertProblem(
        post(Map.of("minDataPosition", "3e11fa47-71ca-11e1-9e33-c80aa9429562:9-3")), 400, "ends before it starts");
    assertProblem(
        admin.post("/api/v1/jobs?name=x&command=true&batchSize=1&maxDataLagSeconds=x", "1\n", "application/x-ndjson"),
        400, "maxDataLagSeconds must be a whole number");
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM job", Integer.class)).isZero();
  }

  static void assertProblem(Http.Response r, int status, String detailContains) {
    assertThat(r.status()).as(r.toString()).isEqualTo(status);
    assertThat(r.isProblem()).as(r.toString()).isTrue();
    assertThat(r.detail()).as(r.toString()).contains(detailContains);
  }

  private Http.Response post(Map<String, Object> rule) {
    return admin.post("/api/v1/jobs", withRule(Jobs.range("bad-rule", "true", 1, 1), rule));
  }

  private static Map<String, Object> withRule(Map<String, Object> job, Map<String, Object> rule) {
    job.putAll(rule);
    return job;
  }

  private static void heartbeat(TestAgent agent, DataState data) {
    Http.Response r =
        agent.http.post(
            AgentPaths.HEARTBEAT, new HeartbeatRequest(WorkerState.IDLE, "ready", 2, 2, List.of(), null, data));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
  }
}
