package dev.nightshift.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
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
import tools.jackson.databind.JsonNode;

/**
 * Issue 14's list of details, over real HTTP: wait reasons and failures (with stderr) in one API call each, the
 * favicon without a login, a finished job's fixed rate, a FAILED job's results refused as incomplete unless
 * {@code partial=true}; bad inputs tried: limit 0, 101 and "abc", partial=maybe, an unknown job.
 */
@NightshiftTest
class JobDetailsTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired dev.nightshift.server.testing.MutableClock clock;
  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
    admin = Http.admin(port);
  }

  @Test
  void waitReasonsAreInTheApiAndSayWhyNothingRuns() {
    var job = Jobs.range("needs-gpu", "true", 3, 1);
    job.put("labels", Map.of("gpu", "yes"));
    long id = Jobs.submit(admin, job);
    TestAgent.enroll(port, "plain-pc", 2, Map.of()).heartbeat(List.of());
    JsonNode why = admin.get("/api/v1/jobs/" + id + "/wait-reasons").json();
    assertThat(why.get("pending").asInt()).isEqualTo(3);
    assertThat(why.get("reasons").get(0).get("kind").asString()).isEqualTo("LABELS_UNMATCHED");
    assertThat(why.get("reasons").get(0).get("blocking").asBoolean()).isTrue();
    assertThat(why.get("reasons").get(0).get("text").asString()).contains("gpu");
    assertThat(admin.get("/api/v1/jobs/999999/wait-reasons").status()).isEqualTo(404);
  }

  @Test
  void aFailuresStderrIsOneCallAway() {
    var job = Jobs.range("flaky", "false", 2, 1);
    job.put("maxAttempts", 1);
    long id = Jobs.submit(admin, job);
    TestAgent agent = TestAgent.enroll(port, "pc-7", 2, Map.of());
    List<Lease> leases = agent.claim(2, 0);
    assertThat(agent.fail(leases.get(0), "exit code 1", "PHP Warning: upstream returned HTTP 503\n").status())
        .isEqualTo(200);
    assertThat(agent.complete(leases.get(1), "ok\n").status()).isEqualTo(200);

    JsonNode failures = admin.get("/api/v1/jobs/" + id + "/failures").json().get("failures");
    assertThat(failures).hasSize(1);
    JsonNode f = failures.get(0);
    assertThat(f.get("batchId").asLong()).isEqualTo(leases.get(0).batchId());
    assertThat(f.get("batchState").asString()).isEqualTo("DEAD");
    assertThat(f.get("workerName").asString()).isEqualTo("pc-7");
    assertThat(f.get("logTail").asString()).contains("upstream returned HTTP 503");
    assertThat(f.get("error").asString()).isEqualTo("exit code 1");

    for (String bad : List.of("0", "101", "abc")) {
      Http.Response r = admin.get("/api/v1/jobs/" + id + "/failures?limit=" + bad);
      assertThat(r.status()).as(bad).isEqualTo(400);
      assertThat(r.isProblem()).as(bad).isTrue();
    }
    assertThat(admin.get("/api/v1/jobs/999999/failures").status()).isEqualTo(404);

    // A FAILED job's results are not an empty or short 200 that looks complete: 409 says what is missing.
    Http.Response incomplete = admin.get("/api/v1/jobs/" + id + "/results");
    assertThat(incomplete.status()).isEqualTo(409);
    assertThat(incomplete.detail())
        .contains("FAILED: 1 of 2 batch(es) have no result (1 DEAD")
        .contains("/api/v1/jobs/" + id + "/failures")
        .contains("?partial=true");
    Http.Response partial = admin.get("/api/v1/jobs/" + id + "/results?partial=true");
    assertThat(partial.status()).isEqualTo(200);
    assertThat(partial.body()).isEqualTo("ok\n");
    assertThat(partial.headers().firstValue("Nightshift-Batches-With-Result")).hasValue("1");
    assertThat(partial.headers().firstValue("Nightshift-Batches")).hasValue("2");
    assertThat(admin.get("/api/v1/jobs/" + id + "/results?partial=maybe").status()).isEqualTo(400);
    // A finished job's rate is its run's, not "items in the last 5 minutes" that drains away as time passes.
    JsonNode done = Jobs.get(admin, id);
    assertThat(done.get("state").asString()).isEqualTo("FAILED");
    double rate = done.get("itemsPerMinute").asDouble();
    assertThat(rate).isGreaterThan(0);
    clock.advance(java.time.Duration.ofMinutes(10));
    assertThat(Jobs.get(admin, id).get("itemsPerMinute").asDouble()).as("10 minutes later").isEqualTo(rate);
  }

  @Test
  void theFaviconNeedsNoLogin() {
    Http.Response icon = Http.anonymous(port).get("/favicon.ico");
    assertThat(icon.status()).isEqualTo(200);
    assertThat(Http.anonymous(port).get("/assets/favicon.png").status()).isEqualTo(200);
  }
}
