package dev.nightshift.server.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/** The admin job API over real HTTP: submit, watch, steer, export; and every bad input refused cleanly. */
@NightshiftTest
class JobApiTest {
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
  void aJsonJobRunsToSuccessAndItsResultsStreamInBatchOrder() {
    Http.Response created =
        admin.post(
            "/api/v1/jobs",
            """
            {"name": "square", "command": "jq .", "batchSize": 2, "priority": 5,
             "items": [1, {"a": "x"}, "three", null, [4]], "env": {"MODE": "test"}, "labels": {"os": "linux"}}""");
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    JsonNode job = created.json();
    long id = job.get("id").asLong();
    assertThat(created.headers().firstValue("Location")).hasValue("/api/v1/jobs/" + id);
    assertThat(job.get("state").asString()).isEqualTo("QUEUED");
    assertThat(job.get("batchCount").asInt()).isEqualTo(3);
    assertThat(job.get("itemCount").asInt()).isEqualTo(5);
    assertThat(job.get("maxAttempts").asInt()).isEqualTo(3);

    TestAgent agent = TestAgent.enroll(port, "linux-box", 4, Map.of("os", "linux"));
    List<Lease> leases = agent.claim(4, 0);
    assertThat(leases).hasSize(3);
    assertThat(leases.get(0).input().items()).isEqualTo("1\n{\"a\":\"x\"}\n");
    assertThat(leases.get(2).input().items()).isEqualTo("[4]\n");
    assertThat(leases.get(0).env()).containsEntry("MODE", "test");
    assertThat(Jobs.get(admin, id).get("state").asString()).isEqualTo("RUNNING");
    // Completed out of order; exported in batch order, a missing final newline added.
    agent.complete(leases.get(2), "{\"r\":3}");
    agent.complete(leases.get(0), "{\"r\":1}\n");
    agent.complete(leases.get(1), "{\"r\":2}\n");

    JsonNode done = Jobs.get(admin, id);
    assertThat(done.get("state").asString()).isEqualTo("SUCCEEDED");
    assertThat(done.get("progress").asDouble()).isEqualTo(1.0);
    assertThat(done.get("counts").get("succeeded").asInt()).isEqualTo(3);
    assertThat(done.get("itemsPerMinute").asDouble()).isPositive();
    Http.Response results = admin.get("/api/v1/jobs/" + id + "/results");
    assertThat(results.contentType()).startsWith("application/x-ndjson");
    assertThat(results.body()).isEqualTo("{\"r\":1}\n{\"r\":2}\n{\"r\":3}\n");

    JsonNode batches = admin.get("/api/v1/jobs/" + id + "/batches?limit=2").json();
    assertThat(batches.get("items")).hasSize(2);
    assertThat(batches.get("nextAfter").asInt()).isEqualTo(1);
    JsonNode rest = admin.get("/api/v1/jobs/" + id + "/batches?after=1").json();
    assertThat(rest.get("items")).hasSize(1);
    long batchId = rest.get("items").get(0).get("id").asLong();
    JsonNode batch = admin.get("/api/v1/batches/" + batchId).json();
    assertThat(batch.get("attemptHistory").get(0).get("outcome").asString()).isEqualTo("SUCCEEDED");
    assertThat(batch.get("attemptHistory").get(0).get("workerId").asString()).isEqualTo(agent.workerId);
  }

  @Test
  void anEntryPointJobCarriesItsNameAndArgumentsToTheAgentAndARefusalBuriesTheBatchAtOnce() {
    Http.Response created =
        admin.post(
            "/api/v1/jobs",
            """
            {"name": "signed", "entryPoint": "process", "args": ["--mode", "fast; rm -rf /"], "batchSize": 1,
             "items": [1, 2], "maxAttempts": 5}""");
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    JsonNode job = created.json();
    long id = job.get("id").asLong();
    assertThat(job.get("entryPoint").asString()).isEqualTo("process");
    assertThat(job.get("args").toString()).isEqualTo("[\"--mode\",\"fast; rm -rf /\"]");
    assertThat(job.get("command").isNull()).isTrue();

    TestAgent agent = TestAgent.enroll(port, "signed-box", 2, Map.of());
    List<Lease> leases = agent.claim(2, 0);
    assertThat(leases).hasSize(2);
    assertThat(leases.get(0).entryPoint()).isEqualTo("process");
    assertThat(leases.get(0).args()).containsExactly("--mode", "fast; rm -rf /");
    assertThat(leases.get(0).command()).isNull();

    // a trusted agent refuses (e.g. an unsigned release): DEAD at once, though 4 attempts were left
    for (Lease l : leases) {
      Instant now = Instant.now();
      Http.Response r = Http.bearer(port, agent.token).post(dev.nightshift.protocol.AgentPaths.FAIL,
          new dev.nightshift.protocol.FailRequest(l.batchId(), l.leaseToken(), l.commit(), l.version(),
              dev.nightshift.protocol.AttemptOutcome.REFUSED, null, now, now,
              "UNSIGNED_RELEASE: commit abc is not signed", "nightshift-agent: refused to run"));
      assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }
    JsonNode failed = Jobs.get(admin, id);
    assertThat(failed.get("state").asString()).isEqualTo("FAILED");
    assertThat(failed.get("counts").get("dead").asInt()).isEqualTo(2);
    JsonNode failures = admin.get("/api/v1/jobs/" + id + "/failures").json();
    assertThat(failures.toString()).contains("REFUSED", "UNSIGNED_RELEASE: commit abc is not signed");
    assertThat(agent.claim(2, 0)).isEmpty();
  }

  @Test
  void aJobGivesEitherACommandOrAnEntryPoint() {
    String base = "\"name\":\"x\",\"batchSize\":1,\"items\":[1]";
    assertProblem(admin.post("/api/v1/jobs", "{" + base + "}"), 400, "command or entryPoint is required");
    assertProblem(admin.post("/api/v1/jobs", "{" + base + ",\"command\":\"c\",\"entryPoint\":\"p\"}"),
        400, "either command");
    assertProblem(admin.post("/api/v1/jobs", "{" + base + ",\"command\":\"c\",\"args\":[\"a\"]}"),
        400, "args go with an entryPoint");
    assertProblem(admin.post("/api/v1/jobs", "{" + base + ",\"entryPoint\":\"no spaces\"}"),
        400, "entryPoint must be the name");
    assertProblem(admin.post("/api/v1/jobs", "{" + base + ",\"entryPoint\":\"p\",\"args\":[\"a\",null]}"),
        400, "args[1] is null");
    assertProblem(admin.post("/api/v1/jobs", "{" + base + ",\"entryPoint\":\"p\",\"args\":\"a b\"}"),
        400, "args");
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM job", Integer.class)).isZero();
    // streamed uploads take them as query parameters
    Http.Response streamed = admin.post("/api/v1/jobs?name=s&entryPoint=process&arg=a&arg=b&batchSize=1", "1\n2\n",
        "application/x-ndjson");
    assertThat(streamed.status()).as(streamed.toString()).isEqualTo(201);
    assertThat(streamed.json().get("args").toString()).isEqualTo("[\"a\",\"b\"]");
  }

  @Test
  void labelsKeepJobsAwayFromAgentsThatLackThem() {
    var job = Jobs.range("windows-only", "dir", 10, 5);
    job.put("labels", Map.of("os", "windows"));
    Jobs.submit(admin, job);
    assertThat(TestAgent.enroll(port, "linux", 2, Map.of("os", "linux")).claim(2, 0)).isEmpty();
    assertThat(TestAgent.enroll(port, "win", 2, Map.of("os", "windows")).claim(2, 0)).hasSize(2);
  }

  @Test
  void rangeJobsCutIntoBatchesWithTheirBounds() {
    long id = Jobs.submit(admin, Jobs.range("range", "true", 1_000_000, 100_000));
    assertThat(Jobs.get(admin, id).get("batchCount").asInt()).isEqualTo(10);
    Lease lease = TestAgent.enroll(port, "r", 1, Map.of()).claim(1, 0).get(0);
    assertThat(lease.input().rangeStart()).isEqualTo(0);
    assertThat(lease.input().rangeEnd()).isEqualTo(100_000);
    assertThat(lease.input().items()).isNull();
  }

  @Test
  void ndjsonUploadsStreamIntoBatches() {
    String lines =
        IntStream.range(0, 10_001).mapToObj(i -> "{\"n\":" + i + "}").collect(Collectors.joining("\n")) + "\n\n";
    Http.Response r =
        admin.post(
            "/api/v1/jobs?name=upload&command=cat&batchSize=1000&env=A=1&label=os=linux&maxParallel=3",
            lines,
            "application/x-ndjson");
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    assertThat(r.json().get("itemCount").asInt()).isEqualTo(10_001);
    assertThat(r.json().get("batchCount").asInt()).isEqualTo(11);
    assertThat(r.json().get("maxParallel").asInt()).isEqualTo(3);
    assertThat(r.json().get("env").get("A").asString()).isEqualTo("1");
  }

  @Test
  void pauseResumeCancelAndRetryFollowTheStateMachine() {
    long id = Jobs.submit(admin, Jobs.range("steer", "true", 4, 1));
    assertThat(admin.post("/api/v1/jobs/" + id + "/pause", "").json().get("state").asString()).isEqualTo("PAUSED");
    TestAgent agent = TestAgent.enroll(port, "a", 4, Map.of());
    assertThat(agent.claim(4, 0)).as("paused jobs are not claimed").isEmpty();
    assertThat(admin.post("/api/v1/jobs/" + id + "/resume", "").json().get("state").asString())
        .isEqualTo("QUEUED");
    List<Lease> leases = agent.claim(2, 0);
    assertThat(leases).hasSize(2);
    JsonNode cancelled = admin.post("/api/v1/jobs/" + id + "/cancel", "").json();
    assertThat(cancelled.get("state").asString()).isEqualTo("CANCELLED");
    assertThat(cancelled.get("counts").get("cancelled").asInt()).isEqualTo(4);
    // The agent still holding a lease is told to stop, and its late report changes nothing.
    var instructions = agent.heartbeat(leases.stream().map(Lease::ref).toList()).instructions();
    assertThat(instructions).hasSize(2).allSatisfy(i -> assertThat(i.reason()).contains("cancelled"));
    Http.Response late = agent.complete(leases.get(0), "late");
    assertThat(late.status()).isEqualTo(409);
    assertThat(late.json().get("reason").asString()).as("machine-readable: the agent may drop it").isEqualTo("STALE");
    Http.Response again = admin.post("/api/v1/jobs/" + id + "/resume", "");
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.detail()).contains("CANCELLED");

    var once = Jobs.range("retry", "false", 1, 1);
    once.put("maxAttempts", 1);
    long retried = Jobs.submit(admin, once);
    Lease lease = agent.claim(1, 0).get(0);
    agent.http.post(
        dev.nightshift.protocol.AgentPaths.FAIL,
        new dev.nightshift.protocol.FailRequest(
            lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(),
            dev.nightshift.protocol.AttemptOutcome.FAILED, 1,
            null, null, "exit 1", "boom"));
    assertThat(Jobs.get(admin, retried).get("state").asString()).isEqualTo("FAILED");
    JsonNode back = admin.post("/api/v1/jobs/" + retried + "/retry", "").json();
    assertThat(back.get("state").asString()).isEqualTo("RUNNING");
    assertThat(back.get("counts").get("pending").asInt()).isEqualTo(1);
    assertThat(agent.claim(1, 0)).hasSize(1);
  }

  @Test
  void jobListPagesNewestFirstAndFiltersByState() {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(Jobs.submit(admin, Jobs.range("j" + i, "true", 1, 1)));
    }
    admin.post("/api/v1/jobs/" + ids.get(0) + "/pause", "");
    JsonNode page = admin.get("/api/v1/jobs?limit=3").json();
    assertThat(page.get("items")).hasSize(3);
    assertThat(page.get("items").get(0).get("id").asLong()).isEqualTo(ids.get(4));
    JsonNode next = admin.get("/api/v1/jobs?limit=3&before=" + page.get("nextBefore").asLong()).json();
    assertThat(next.get("items")).hasSize(2);
    assertThat(next.get("nextBefore").isNull()).isTrue();
    JsonNode paused = admin.get("/api/v1/jobs?state=paused").json();
    assertThat(paused.get("items")).hasSize(1);
  }

  /**
   * Bad inputs tried: malformed JSON, a non-object body, an empty body, missing fields, wrong-typed fields,
   * batchSize 0 and negative, both and neither of items/range, an empty items array, an inverted range, unknown
   * fields, reserved env names, unknown ids, an unknown state filter, an oversized JSON body, a wrong content type,
   * a malformed NDJSON line (named by number), an NDJSON upload without items, an unknown query parameter and a
   * non-numeric one. Each answers 4xx problem+json that says what to fix, and no job is created.
   */
  @Test
  void badInputIsRefusedWithAProblemThatSaysWhatToFixAndCreatesNothing() {
    assertProblem(admin.post("/api/v1/jobs", "{\"name\": \"x\", "), 400, "Malformed JSON");
    assertProblem(admin.post("/api/v1/jobs", "[1, 2]"), 400, "JSON object");
    assertProblem(admin.post("/api/v1/jobs", "", "application/json"), 400, "empty");
    assertProblem(admin.post("/api/v1/jobs", "{}"), 400, "name is required");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":\"ten\",\"range\":{\"start\":0,\"end\":1}}"),
        400,
        "batchSize");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1,\"items\":\"abc\"}"),
        400,
        "items");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":0,\"items\":[1]}"),
        400,
        "batchSize must be between 1");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":-5,\"items\":[1]}"),
        400,
        "batchSize must be between 1");
    assertProblem(
        admin.post(
            "/api/v1/jobs",
            "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1,\"items\":[1],\"range\":{\"start\":0,\"end\":5}}"),
        400,
        "not both");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1}"), 400, "either items");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1,\"items\":[]}"),
        400,
        "at least one item");
    assertProblem(
        admin.post(
            "/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1,\"range\":{\"start\":5,\"end\":5}}"),
        400,
        "greater than start");
    assertProblem(
        admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"c\",\"batchsize\":1,\"items\":[1]}"),
        400,
        "unknown field(s) [batchsize]");
    assertProblem(
        admin.post(
            "/api/v1/jobs",
            "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1,\"items\":[1],\"env\":{\"NIGHTSHIFT_JOB_ID\":\"1\"}}"),
        400,
        "reserved");
    assertProblem(admin.get("/api/v1/jobs/999999"), 404, "job 999999 does not exist");
    assertProblem(admin.get("/api/v1/batches/999999"), 404, "batch 999999 does not exist");
    assertProblem(admin.post("/api/v1/jobs/999999/cancel", ""), 404, "does not exist");
    assertProblem(admin.get("/api/v1/jobs/999999/results"), 404, "does not exist");
    assertProblem(admin.get("/api/v1/jobs?state=DONE"), 400, "not a job state");
    assertProblem(admin.get("/api/v1/jobs/abc"), 400, "");
    String huge = "{\"name\":\"x\",\"command\":\"c\",\"batchSize\":1,\"items\":[\"" + "a".repeat(17 << 20) + "\"]}";
    assertProblem(admin.post("/api/v1/jobs", huge), 413, "application/x-ndjson");
    assertProblem(
        admin.post("/api/v1/jobs", HttpRequest.BodyPublishers.ofInputStream(
            () -> new java.io.ByteArrayInputStream(huge.getBytes(StandardCharsets.UTF_8))), "application/json"),
        413,
        "limit");
    assertProblem(admin.post("/api/v1/jobs", "name=x", "text/plain"), 415, "application/json");
    assertProblem(
        admin.post(
            "/api/v1/jobs?name=u&command=cat&batchSize=2", "{\"ok\":1}\n2\n{\"broken\":\n4\n", "application/x-ndjson"),
        400,
        "line 3 is not valid JSON");
    assertProblem(
        admin.post("/api/v1/jobs?name=u&command=cat&batchSize=2", "1 2\n", "application/x-ndjson"),
        400,
        "line 1 holds more than one JSON value");
    assertProblem(
        admin.post("/api/v1/jobs?name=u&command=cat&batchSize=2", "\n\n", "application/x-ndjson"),
        400,
        "no items");
    assertProblem(
        admin.post("/api/v1/jobs?name=u&command=cat&batchsize=2", "1\n", "application/x-ndjson"),
        400,
        "unknown query parameter(s) [batchsize]");
    assertProblem(
        admin.post("/api/v1/jobs?name=u&command=cat&batchSize=two", "1\n", "application/x-ndjson"),
        400,
        "whole number");

    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM job", Integer.class)).isZero();
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch", Integer.class)).isZero();
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch_input", Integer.class)).isZero();
  }

  @Test
  void accessNeedsAUserAndChangesNeedAnAdmin() {
    assertProblem(Http.anonymous(port).get("/api/v1/jobs"), 401, "Authentication required");
    assertProblem(Http.basic(port, "admin", "wrong").get("/api/v1/jobs"), 401, "Authentication required");
    assertThat(Http.anonymous(port).get("/actuator/health").status()).isEqualTo(200);
    // An agent token is no admin credential.
    TestAgent agent = TestAgent.enroll(port, "sneaky", 1, Map.of());
    assertThat(Http.bearer(port, agent.token).get("/api/v1/jobs").status()).isEqualTo(401);
  }

  static void assertProblem(Http.Response r, int status, String detailContains) {
    assertThat(r.status()).as(r.toString()).isEqualTo(status);
    assertThat(r.isProblem()).as(r.toString()).isTrue();
    assertThat(r.detail()).as(r.toString()).contains(detailContains);
  }
}
