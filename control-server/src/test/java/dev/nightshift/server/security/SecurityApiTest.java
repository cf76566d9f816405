package dev.nightshift.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ProblemReasons;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MutableClock;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * Users, API tokens, enrollment tokens, worker revocation, duplicate identities, rate limiting and the audit trail,
 * over real HTTP.
 */
@NightshiftTest
class SecurityApiTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired MutableClock clock;
  @Autowired AuthFailureLimiter limiter;
  @Autowired dev.nightshift.server.workers.WorkerService workerService;

  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    limiter.reset();
    admin = Http.admin(port);
    CodeFixture.ensureRelease(port);
  }

  @AfterEach
  void tearDown() {
    limiter.reset();
  }

  private void createUser(String name, String role) {
    admin.delete("/api/v1/users/" + name);
    Http.Response r =
        admin.post("/api/v1/users", Map.of("username", name, "password", name + "-password-1", "role", role));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
  }

  @Test
  void aPageOnAnotherOriginCannotChangeAnythingWithTheBrowsersCachedCredentials() {
    // tries, all with the admin's right Basic credentials (what a browser that logged in once sends by itself):
    // Origin of another site, Origin "null", Sec-Fetch-Site cross-site and same-site, and the bodies an HTML form
    // can send without CORS (text/plain, form-urlencoded, multipart) - to pause a job and revoke a worker
    long job = Jobs.submit(admin, Jobs.range("csrf", "true", 10, 5));
    String pause = "/api/v1/jobs/" + job + "/pause";
    for (Http browser : List.of(
        admin.withHeader("Origin", "https://evil.example"),
        admin.withHeader("Origin", "null"),
        admin.withHeader("Origin", "http://127.0.0.1:" + (port + 1)),
        admin.withHeader("Sec-Fetch-Site", "cross-site"),
        admin.withHeader("Sec-Fetch-Site", "same-site"))) {
      Http.Response r = browser.post(pause, "");
      assertThat(r.status()).as(r.toString()).isEqualTo(403);
      assertThat(r.detail()).containsAnyOf("Cross-site request refused", "Cross-origin request refused");
    }
    for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x")) {
      Http.Response r = admin.post(pause, "{\"a\":1}", type);
      assertThat(r.status()).as(type + ": " + r).isEqualTo(415);
      assertThat(r.detail()).contains("API writes take Content-Type: application/json");
    }
    Http.Response form = admin.post("/api/v1/jobs", "{\"name\":\"x\",\"command\":\"id\"}", "text/plain");
    assertThat(form.status()).as("a text/plain job submission").isEqualTo(415);
    assertThat(Jobs.get(admin, job).get("state").asString()).as("nothing changed").isNotEqualTo("PAUSED");

    // reads stay open to the same credentials (another origin cannot read the answer: no CORS headers), and the
    // server's own origin and scripts (no Origin, no Sec-Fetch-Site) may write
    assertThat(admin.withHeader("Origin", "https://evil.example").get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(admin.withHeader("Origin", "https://evil.example").get("/api/v1/jobs").headers()
        .firstValue("Access-Control-Allow-Origin")).isEmpty();
    Http.Response own = admin.withHeader("Origin", "http://127.0.0.1:" + port)
        .withHeader("Sec-Fetch-Site", "same-origin").post(pause, "");
    assertThat(own.status()).as(own.toString()).isEqualTo(200);
    assertThat(Jobs.get(admin, job).get("state").asString()).isEqualTo("PAUSED");
  }

  @Test
  void aWorkerNeverHoldsMoreLeasesThanItsSlots() {
    // tries: a 1-slot worker claiming 20 at once, claiming again while it holds one, a 2-slot worker asking 5
    Jobs.submit(admin, Jobs.range("greedy", "true", 100, 1));
    TestAgent one = TestAgent.enroll(port, "one-slot", 1, Map.of());
    List<Lease> first = one.claim(20, 0);
    assertThat(first).as("asked for 20 with 1 slot").hasSize(1);
    assertThat(one.claim(20, 0)).as("holds one already").isEmpty();
    assertThat(one.complete(first.get(0), "done").status()).isEqualTo(200);
    assertThat(one.claim(20, 0)).as("its slot is free again").hasSize(1);

    TestAgent two = TestAgent.enroll(port, "two-slots", 2, Map.of());
    assertThat(two.claim(5, 0)).hasSize(2);
    assertThat(two.claim(5, 0)).isEmpty();
    assertThat(jdbc.queryForObject(
            "SELECT COUNT(*) FROM batch WHERE worker_id = ? AND state = 'LEASED'", Integer.class, one.workerId))
        .isEqualTo(1);
  }

  @Test
  void concurrentClaimsOfOneWorkerStillGetNoMoreThanItsSlots() throws Exception {
    Jobs.submit(admin, Jobs.range("raced", "true", 200, 1));
    TestAgent two = TestAgent.enroll(port, "racing-two", 2, Map.of());
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      List<java.util.concurrent.Future<List<Lease>>> claims = new java.util.ArrayList<>();
      for (int i = 0; i < 8; i++) {
        claims.add(pool.submit(() -> two.claim(2, 0)));
      }
      int total = 0;
      for (var f : claims) {
        total += f.get().size();
      }
      assertThat(total).as("8 claims of 2 at once by a 2-slot worker").isEqualTo(2);
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void usersAreManagedByAdminsAndTheLastAdminStays() {
    createUser("olga", "OPERATOR");
    Http olga = Http.basic(port, "olga", "olga-password-1");
    assertThat(olga.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(olga.post("/api/v1/jobs/1/cancel", "").status()).isEqualTo(403);
    assertThat(olga.get("/api/v1/users").status()).as("users are admin-only, even to read").isEqualTo(403);

    Http.Response list = admin.get("/api/v1/users");
    assertThat(list.body()).contains("olga").doesNotContain("password");

    assertThat(admin.post("/api/v1/users", Map.of("username", "x y", "password", "short", "role", "ADMIN")).detail())
        .contains("username must be");
    assertThat(admin.post("/api/v1/users", Map.of("username", "olga", "password", "long-enough-pass", "role", "ADMIN"))
            .status())
        .isEqualTo(409);

    // Promote, change the password, disable.
    assertThat(admin.patch("/api/v1/users/olga", Map.of("role", "ADMIN", "password", "new-password-22")).status())
        .isEqualTo(200);
    assertThat(olga.get("/api/v1/jobs").status()).as("old password").isEqualTo(401);
    Http olga2 = Http.basic(port, "olga", "new-password-22");
    assertThat(olga2.get("/api/v1/users").status()).isEqualTo(200);
    assertThat(admin.patch("/api/v1/users/olga", Map.of("enabled", false)).status()).isEqualTo(200);
    assertThat(olga2.get("/api/v1/jobs").status()).as("disabled").isEqualTo(401);
    assertThat(admin.delete("/api/v1/users/olga").status()).isEqualTo(204);
    assertThat(admin.delete("/api/v1/users/olga").status()).isEqualTo(404);

    // The last enabled admin can be neither demoted, disabled nor deleted.
    Http.Response demote = admin.patch("/api/v1/users/admin", Map.of("role", "OPERATOR"));
    assertThat(demote.status()).isEqualTo(409);
    assertThat(demote.detail()).contains("last enabled ADMIN");
    assertThat(admin.patch("/api/v1/users/admin", Map.of("enabled", false)).status()).isEqualTo(409);
    assertThat(admin.delete("/api/v1/users/admin").status()).isEqualTo(409);
    assertThat(admin.get("/api/v1/jobs").status()).isEqualTo(200);
  }

  @Test
  void apiTokensAreShownOnceActAsTheirOwnerAndCanExpireAndBeRevoked() {
    createUser("ci", "OPERATOR");
    Http.Response created = admin.post("/api/v1/api-tokens", Map.of("name", "nightly export", "username", "ci"));
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    String token = created.json().get("token").asString();
    long id = created.json().get("id").asLong();
    assertThat(token).startsWith("nst_");
    assertThat(created.json().get("role").asString()).isEqualTo("OPERATOR");

    Http ci = Http.bearer(port, token);
    assertThat(ci.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(ci.post("/api/v1/jobs/1/cancel", "").status()).as("operator's token cannot change").isEqualTo(403);
    assertThat(ci.post(AgentPaths.HEARTBEAT, "{}").status()).as("not an agent token").isEqualTo(401);

    Http.Response listed = admin.get("/api/v1/api-tokens");
    assertThat(listed.body()).contains("nightly export").doesNotContain(token).doesNotContain(Tokens.sha256(token));
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM api_token WHERE token_hash = ?", Integer.class,
        Tokens.sha256(token))).isEqualTo(1);

    // Never above the owner's role.
    Http.Response above =
        admin.post("/api/v1/api-tokens", Map.of("name", "sneaky", "username", "ci", "role", "ADMIN"));
    assertThat(above.status()).isEqualTo(400);
    assertThat(above.detail()).contains("more rights than its owner");

    // An admin's token may change things; revoked, it stops at once.
    Http.Response adminToken = admin.post("/api/v1/api-tokens", Map.of("name", "deploy"));
    Http deploy = Http.bearer(port, adminToken.json().get("token").asString());
    assertThat(deploy.post("/api/v1/jobs/999999/cancel", "").status()).as("reached the handler").isEqualTo(404);
    assertThat(admin.delete("/api/v1/api-tokens/" + adminToken.json().get("id").asLong()).status()).isEqualTo(204);
    assertThat(deploy.get("/api/v1/jobs").status()).isEqualTo(401);

    // Expiry.
    Http.Response shortLived =
        admin.post("/api/v1/api-tokens", Map.of("name", "one day", "username", "ci", "expiresInDays", 1));
    Http day = Http.bearer(port, shortLived.json().get("token").asString());
    assertThat(day.get("/api/v1/jobs").status()).isEqualTo(200);
    clock.advance(Duration.ofDays(1).plusMinutes(1));
    assertThat(day.get("/api/v1/jobs").status()).as("expired").isEqualTo(401);
    assertThat(ci.get("/api/v1/jobs").status()).as("no expiry").isEqualTo(200);

    // A disabled owner's tokens stop working.
    admin.patch("/api/v1/users/ci", Map.of("enabled", false));
    assertThat(ci.get("/api/v1/jobs").status()).isEqualTo(401);
    assertThat(admin.delete("/api/v1/api-tokens/" + id).status()).isEqualTo(204);
    assertThat(admin.delete("/api/v1/api-tokens/424242").status()).isEqualTo(404);
  }

  @Test
  void theStandingEnrollmentTokenIsRevocableWithoutARestartAndARevokedWorkerNeedsAnAdminToComeBack() {
    // tries: the standing token after an admin revoked it; a revoked worker's name enrolling again with the standing
    // token, and with a token created before the revocation; then with a new one an admin creates after
    JsonNode standing = null;
    for (JsonNode t : admin.get("/api/v1/enrollment-tokens").json().get("items")) {
      if ("NIGHTSHIFT_ENROLLMENT_TOKEN".equals(t.get("description").asString())) {
        standing = t;
      }
    }
    assertThat(standing).as("NIGHTSHIFT_ENROLLMENT_TOKEN is listed as a token row").isNotNull();
    assertThat(standing.toString()).doesNotContain(Http.ENROLLMENT_TOKEN);
    long standingId = standing.get("id").asLong();
    try {
      String early = admin.post("/api/v1/enrollment-tokens", Map.of("description", "before")).json().get("token")
          .asString();
      TestAgent agent = TestAgent.enroll(port, "pc-revoked", 1, Map.of());
      clock.advance(Duration.ofSeconds(1));
      assertThat(admin.post("/api/v1/workers/" + agent.workerId + "/revoke", "").status()).isEqualTo(200);
      for (String token : List.of(Http.ENROLLMENT_TOKEN, early)) {
        Http.Response again = registerAs(token, "pc-revoked");
        assertThat(again.status()).as(again.toString()).isEqualTo(403);
        assertThat(again.detail()).contains("was revoked at").contains("token an admin creates after that");
      }
      assertThat(registerAs(Http.ENROLLMENT_TOKEN, "pc-other").status()).as("other names").isEqualTo(200);
      // the check reads that name's rows from its index, not every worker that ever enrolled
      assertThat(jdbc.queryForList("EXPLAIN " + dev.nightshift.server.workers.WorkerService.REVOKED_BY_NAME,
              "pc-revoked"))
          .singleElement()
          .satisfies(r -> assertThat(r.get("key")).as("%s", r).isEqualTo("ix_worker_name"));
      clock.advance(Duration.ofSeconds(1));
      String approval = admin.post("/api/v1/enrollment-tokens", Map.of("description", "let pc-revoked back"))
          .json().get("token").asString();
      assertThat(registerAs(approval, "pc-revoked").status()).isEqualTo(200);

      assertThat(admin.delete("/api/v1/enrollment-tokens/" + standingId).status()).isEqualTo(204);
      Http.Response refused = registerAs(Http.ENROLLMENT_TOKEN, "pc-new");
      assertThat(refused.status()).as("revoked without a restart").isEqualTo(401);
      assertThat(refused.detail()).contains("revoked");
    } finally {
      jdbc.update("UPDATE enrollment_token SET revoked_at = NULL WHERE id = ?", standingId); // for the other tests
      limiter.reset();
    }
  }

  @Test
  void anAdminCannotMintTokensOwnedByAnotherAdmin() {
    // tries: admin minting a token owned by another ADMIN (with and without a role); then that admin herself
    createUser("ada", "ADMIN");
    for (Map<String, Object> body : List.<Map<String, Object>>of(
        Map.of("name", "as ada", "username", "ada"), Map.of("name", "as ada", "username", "ada", "role", "OPERATOR"))) {
      Http.Response r = admin.post("/api/v1/api-tokens", body);
      assertThat(r.status()).as(r.toString()).isEqualTo(403);
      assertThat(r.detail()).contains("only ada may create API tokens owned by ada");
    }
    Http.Response own = Http.basic(port, "ada", "ada-password-1").post("/api/v1/api-tokens", Map.of("name", "mine"));
    assertThat(own.status()).as(own.toString()).isEqualTo(201);
  }

  @Test
  void jobEnvValuesAreShownOnlyToAdmins() {
    // tries: an OPERATOR reading the job and the job list; an admin reading them
    createUser("olga", "OPERATOR");
    Map<String, Object> job = new java.util.HashMap<>(Jobs.range("with secret", "true", 2, 1));
    job.put("env", Map.of("API_KEY", "s3cret-value"));
    long id = Jobs.submit(admin, job);
    Http olga = Http.basic(port, "olga", "olga-password-1");
    Http.Response one = olga.get("/api/v1/jobs/" + id);
    assertThat(one.json().get("env").get("API_KEY").asString()).isEqualTo("***");
    assertThat(one.body()).doesNotContain("s3cret-value");
    assertThat(olga.get("/api/v1/jobs").body()).contains("API_KEY").doesNotContain("s3cret-value");
    assertThat(Jobs.get(admin, id).get("env").get("API_KEY").asString()).isEqualTo("s3cret-value");
  }

  @Test
  void aReservedLabelCannotBeSelfDeclaredOnlyAnAdminGivesIt() {
    // tries: an agent declaring secure-zone=finance (reserved in NightshiftTest); PUT labels with a list, with a bad
    // key, with a number, for an unknown worker; then an admin giving the label
    Map<String, Object> job = new java.util.HashMap<>(Jobs.range("finance", "true", 1, 1));
    job.put("labels", Map.of("secure-zone", "finance"));
    Jobs.submit(admin, job);
    TestAgent pretender = TestAgent.enroll(port, "pretender", 1, Map.of("secure-zone", "finance", "os", "linux"));
    assertThat(pretender.claim(1, 0)).as("the declared reserved label is ignored").isEmpty();
    JsonNode labels = admin.get("/api/v1/workers/" + pretender.workerId).json().get("labels");
    assertThat(labels.has("secure-zone")).isFalse();
    assertThat(labels.get("os").asString()).isEqualTo("linux");

    String path = "/api/v1/workers/" + pretender.workerId + "/labels";
    assertThat(admin.send("PUT", path, "[\"secure-zone\"]").status()).isEqualTo(400);
    assertThat(admin.send("PUT", path, "{\"bad key\": \"x\"}").detail()).contains("is not valid");
    assertThat(admin.send("PUT", path, "{\"n\": 1}").detail()).contains("must be a string");
    assertThat(admin.send("PUT", "/api/v1/workers/no-such/labels", "{}").status()).isEqualTo(404);

    Http.Response given = admin.send("PUT", path, "{\"secure-zone\": \"finance\", \"os\": \"linux\"}");
    assertThat(given.status()).as(given.toString()).isEqualTo(200);
    assertThat(given.json().get("labels").get("secure-zone").asString()).isEqualTo("finance");
    assertThat(pretender.claim(1, 0)).as("given by an admin").hasSize(1);
  }

  @Test
  @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
  void textFromAgentsCannotForgeLogLines(org.springframework.boot.test.system.CapturedOutput output) {
    // tries: a heartbeat reason with CR/LF and an ESC sequence, logged when the agent goes offline
    TestAgent agent = TestAgent.enroll(port, "forger", 1, Map.of());
    String forged = "bye\r\n2026-01-01 ERROR [main] FORGED: admin password reset\u001b[2J";
    Http.Response r = agent.http.post(AgentPaths.HEARTBEAT,
        new HeartbeatRequest(WorkerState.OFFLINE, forged, 1, 1, List.of(), null));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    assertThat(output.getAll()).contains("is going offline: bye??2026-01-01 ERROR [main] FORGED")
        .doesNotContain("\n2026-01-01 ERROR [main] FORGED");
  }

  @Test
  void bootstrapSecretsMustBeStrong() {
    // tries: a 3-character admin password; an 11-character one
    for (String weak : List.of("abc", "abcdefghijk")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> AdminBootstrap.checkConfigured(weak))
          .hasMessageContaining("NIGHTSHIFT_ADMIN_PASSWORD is too short");
    }
    AdminBootstrap.checkConfigured(Http.ADMIN_PASSWORD);
  }

  private Http.Response registerAs(String token, String name) {
    return Http.anonymous(port)
        .post(
            AgentPaths.REGISTER,
            new RegisterRequest(token, name, new HostFacts(name, "Linux", "amd64", 2, 0, "t", "17"), 1, Map.of()));
  }

  @Test
  void enrollmentTokensExpireAndAreUseLimited() {
    Http.Response created =
        admin.post("/api/v1/enrollment-tokens", Map.of("description", "lab", "expiresInHours", 1, "maxUses", 2));
    String token = created.json().get("token").asString();
    assertThat(admin.get("/api/v1/enrollment-tokens").body()).doesNotContain(token);
    assertThat(register(token).status()).isEqualTo(200);
    assertThat(register(token).status()).isEqualTo(200);
    Http.Response third = register(token);
    assertThat(third.status()).as("used up").isEqualTo(401);
    assertThat(third.detail()).contains("used up");

    String expiring =
        admin.post("/api/v1/enrollment-tokens", Map.of("expiresInHours", 1)).json().get("token").asString();
    clock.advance(Duration.ofHours(1).plusSeconds(1));
    assertThat(register(expiring).status()).as("expired").isEqualTo(401);
    limiter.reset();
  }

  private Http.Response register(String token) {
    return Http.anonymous(port)
        .post(
            AgentPaths.REGISTER,
            new RegisterRequest(token, "pc", new HostFacts("pc", "Linux", "amd64", 2, 0, "t", "17"), 1, Map.of()));
  }

  @Test
  void aRevokedWorkerIsRefusedAtOnceItsLeasesAreRequeuedAndItIsShownDisabled() {
    TestAgent agent = TestAgent.enroll(port, "doomed", 2, Map.of());
    long jobId = Jobs.submit(admin, Jobs.range("revoke", "true", 20, 10));
    List<Lease> leases = agent.claim(2, 0);
    assertThat(leases).hasSize(2);

    Http.Response revoked = admin.post("/api/v1/workers/" + agent.workerId + "/revoke", "");
    assertThat(revoked.status()).as(revoked.toString()).isEqualTo(200);
    assertThat(revoked.json().get("state").asString()).isEqualTo("DISABLED");

    Http.Response heartbeat = agent.http.post(AgentPaths.HEARTBEAT, "{}");
    assertThat(heartbeat.status()).isEqualTo(401);
    assertThat(heartbeat.detail()).contains("revoked");
    assertThat(agent.complete(leases.get(0), "x\n").status()).isEqualTo(401);
    assertThat(Http.basic(port, "agent", agent.token).get("/git/code.git/info/refs?service=git-upload-pack").status())
        .as("git fetch too")
        .isEqualTo(401);

    JsonNode job = Jobs.get(admin, jobId);
    assertThat(job.get("counts").get("leased").asInt()).isZero();
    assertThat(job.get("counts").get("pending").asInt()).isEqualTo(2);
    JsonNode batch = admin.get("/api/v1/batches/" + leases.get(0).batchId()).json();
    JsonNode attempt = batch.get("attemptHistory").get(0);
    assertThat(attempt.get("outcome").asString()).isEqualTo("RELEASED");
    assertThat(attempt.get("error").asString()).contains("revoked by admin");

    JsonNode listed = admin.get("/api/v1/workers").json().get("items");
    assertThat(listed.toString()).contains("DISABLED");
    assertThat(admin.delete("/api/v1/workers/" + agent.workerId).status()).as("repeat is harmless").isEqualTo(200);
    assertThat(admin.post("/api/v1/workers/nope/revoke", "").status()).isEqualTo(404);
  }

  /**
   * With approval required a new worker claims nothing (its heartbeat says DRAIN with the reason, the API and the
   * dashboard say it awaits approval) until an admin approves it; resume is refused for it (409, naming approve);
   * a revoked worker cannot be approved (409); an unknown one is 404. With approval off, workers claim at once.
   */
  @Test
  void withApprovalRequiredANewWorkerClaimsNothingUntilAnAdminApprovesIt() {
    workerService.requireEnrollmentApproval(true);
    try {
      TestAgent agent = TestAgent.enroll(port, "awaiting", 1, Map.of());
      Jobs.submit(admin, Jobs.range("approval", "true", 2, 1));
      assertThat(agent.claim(1, 0)).as("an unapproved worker gets nothing").isEmpty();
      var beat = agent.heartbeat(List.of());
      assertThat(beat.instructions()).anySatisfy(i -> {
        assertThat(i.type()).isEqualTo(dev.nightshift.protocol.InstructionType.DRAIN);
        assertThat(i.reason()).contains("awaiting an admin's approval").contains("/approve");
      });
      JsonNode listed = admin.get("/api/v1/workers/" + agent.workerId).json();
      assertThat(listed.get("approvalPendingSince").isNull()).isFalse();
      assertThat(listed.get("reason").asString()).contains("awaiting an admin's approval");
      Http.Response resume = admin.post("/api/v1/workers/" + agent.workerId + "/resume", "");
      assertThat(resume.status()).isEqualTo(409);
      assertThat(resume.detail()).contains("approve");

      Http.Response approved = admin.post("/api/v1/workers/" + agent.workerId + "/approve", "");
      assertThat(approved.status()).as(approved.toString()).isEqualTo(200);
      assertThat(approved.json().get("approvalPendingSince").isNull()).isTrue();
      assertThat(approved.json().get("approvedBy").asString()).isEqualTo("admin");
      assertThat(admin.post("/api/v1/workers/" + agent.workerId + "/approve", "").status())
          .as("a repeat is harmless").isEqualTo(200);
      assertThat(agent.claim(1, 0)).as("approved: it claims").hasSize(1);
      assertThat(agent.heartbeat(List.of()).instructions())
          .noneMatch(i -> i.type() == dev.nightshift.protocol.InstructionType.DRAIN);

      TestAgent other = TestAgent.enroll(port, "awaiting-2", 1, Map.of());
      admin.post("/api/v1/workers/" + other.workerId + "/revoke", "");
      Http.Response revoked = admin.post("/api/v1/workers/" + other.workerId + "/approve", "");
      assertThat(revoked.status()).isEqualTo(409);
      assertThat(revoked.detail()).contains("revoked");
      assertThat(admin.post("/api/v1/workers/nope/approve", "").status()).isEqualTo(404);
    } finally {
      workerService.requireEnrollmentApproval(false);
    }
    TestAgent free = TestAgent.enroll(port, "no-approval", 1, Map.of());
    assertThat(admin.get("/api/v1/workers/" + free.workerId).json().get("approvalPendingSince").isNull()).isTrue();
    assertThat(free.claim(1, 0)).as("approval off: claims at once").hasSize(1);
  }

  @Test
  void aSecondAgentWithTheSameIdentityIsRefusedWhileTheFirstIsAlive() {
    TestAgent agent = TestAgent.enroll(port, "original", 1, Map.of());
    Http first = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString());
    Http clone = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString());
    String beat = Http.JSON.writeValueAsString(new HeartbeatRequest(WorkerState.IDLE, "ready", 1, 1, List.of(), null));
    assertThat(first.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);

    Http.Response refused = clone.post(AgentPaths.HEARTBEAT, beat);
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.isProblem()).isTrue();
    assertThat(refused.detail())
        .contains("another agent (host original, address 127.0.0.1) is already using this identity")
        .contains("delete identity.json in the clone's data dir and enroll it again");
    assertThat(clone.post(AgentPaths.CLAIM, new ClaimRequest(1, 0)).status()).isEqualTo(409);
    assertThat(first.post(AgentPaths.HEARTBEAT, beat).status()).as("the first carries on").isEqualTo(200);

    // The first goes quiet for longer than the offline timeout: the other process may take over.
    clock.advance(Duration.ofSeconds(91));
    assertThat(clone.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);
    assertThat(first.post(AgentPaths.HEARTBEAT, beat).status()).as("now the first is the stranger").isEqualTo(409);

    // A stopping agent says OFFLINE: a restarted process (new instance id) is accepted at once.
    String offline =
        Http.JSON.writeValueAsString(new HeartbeatRequest(WorkerState.OFFLINE, "stopping", 1, 1, List.of(), null));
    assertThat(clone.post(AgentPaths.HEARTBEAT, offline).status()).isEqualTo(200);
    assertThat(first.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);
  }

  @Test
  void aRestartedAgentNamingItsPredecessorTakesOverAtOnceAndACopiedDataDirIsFoundOut() {
    TestAgent agent = TestAgent.enroll(port, "restarts", 1, Map.of());
    String x = UUID.randomUUID().toString();
    Http original = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, x);
    String beat = Http.JSON.writeValueAsString(new HeartbeatRequest(WorkerState.IDLE, "ready", 1, 1, List.of(), null));
    assertThat(original.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);

    // SIGKILLed a moment ago (it called just now) and restarted on its data dir: it names its predecessors, newest
    // first; the newest was killed too before its first call, so the server knows only x.
    String y = UUID.randomUUID().toString();
    Http restarted =
        agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, y)
            .withHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, UUID.randomUUID() + "," + x);
    assertThat(restarted.post(AgentPaths.HEARTBEAT, beat).status()).as("no offline timeout to wait").isEqualTo(200);
    assertThat(restarted.post(AgentPaths.CLAIM, new ClaimRequest(1, 0)).status()).isEqualTo(200);

    // A request of the killed process still on its way: refused, but not taken for a clone.
    Http.Response late = original.post(AgentPaths.HEARTBEAT, beat);
    assertThat(late.status()).isEqualTo(409);
    assertThat(late.json().get("reason").asString()).isEqualTo(ProblemReasons.IDENTITY_IN_USE);
    assertThat(restarted.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);

    // Someone else naming a predecessor that is not the current process gets nothing (an old copy of the dir).
    Http stale =
        agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString())
            .withHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, x);
    assertThat(stale.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(409);

    // Now y's data dir is copied (a cloned VM image) and the copy starts: it names y and takes over...
    String z = UUID.randomUUID().toString();
    Http copy =
        agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, z).withHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, y);
    assertThat(copy.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);
    // ...but y is alive and calls again after the grace: y gets its identity back, the copy is found out for good.
    clock.advance(Duration.ofSeconds(11));
    assertThat(restarted.post(AgentPaths.HEARTBEAT, beat).status()).as("the original keeps its identity").isEqualTo(200);
    Http.Response cloned = copy.post(AgentPaths.HEARTBEAT, beat);
    assertThat(cloned.status()).isEqualTo(409);
    assertThat(cloned.isProblem()).isTrue();
    assertThat(cloned.json().get("reason").asString()).isEqualTo(ProblemReasons.IDENTITY_CLONED);
    assertThat(cloned.detail()).contains("copy of another agent's data dir").contains("enroll it again");
    // The copy restarted on its own dir names z and, before it, y: a descendant of the clone stays refused.
    Http copyChain =
        agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString())
            .withHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, z + "," + y);
    Http.Response descendant = copyChain.post(AgentPaths.HEARTBEAT, beat);
    assertThat(descendant.status()).isEqualTo(409);
    assertThat(descendant.json().get("reason").asString()).isEqualTo(ProblemReasons.IDENTITY_CLONED);
    // The original restarted names y and x: its own chain, accepted at once.
    Http originalRestarted =
        agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString())
            .withHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, y + "," + x);
    assertThat(originalRestarted.post(AgentPaths.HEARTBEAT, beat).status()).isEqualTo(200);
    clock.advance(Duration.ofSeconds(200));
    assertThat(copy.post(AgentPaths.CLAIM, new ClaimRequest(1, 0)).status())
        .as("even after the original went quiet")
        .isEqualTo(409);
    // Even once the original has been silent for longer than the offline timeout, the copy's restart stays refused.
    Http copyRestarted =
        agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString())
            .withHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, z);
    Http.Response stillCloned = copyRestarted.post(AgentPaths.HEARTBEAT, beat);
    assertThat(stillCloned.status()).isEqualTo(409);
    assertThat(stillCloned.json().get("reason").asString()).isEqualTo(ProblemReasons.IDENTITY_CLONED);
  }

  @Test
  void repeatedAuthenticationFailuresAreRateLimitedPerAddressAndIdentity() {
    createUser("olga", "OPERATOR");
    TestAgent good = TestAgent.enroll(port, "behind-nat", 1, Map.of());
    Http wrong = Http.basic(port, "admin", "wrong-password");
    for (int i = 0; i < 10; i++) {
      assertThat(wrong.get("/api/v1/jobs").status()).isEqualTo(401);
    }
    Http.Response limited = wrong.get("/api/v1/jobs");
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.isProblem()).isTrue();
    assertThat(limited.detail()).contains("Too many failed authentications").contains("as user admin");
    assertThat(limited.headers().firstValue("Retry-After")).isPresent();
    long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").get());
    assertThat(retryAfter).isBetween(1L, 60L);
    // The identity being guessed waits, with any password and also on Git (guessing learns nothing) ...
    assertThat(admin.get("/api/v1/jobs").status()).isEqualTo(429);
    assertThat(Http.basic(port, "admin", "x").get("/git/code.git/info/refs?service=git-upload-pack").status())
        .isEqualTo(429);
    // ... but the right credentials of everyone else at that address do not: another user, an agent.
    assertThat(Http.basic(port, "olga", "olga-password-1").get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(good.http.post(AgentPaths.HEARTBEAT, "{}").status()).isNotIn(401, 429);
    // Requests without credentials are not affected.
    assertThat(Http.anonymous(port).get("/actuator/health").status()).isEqualTo(200);

    clock.advance(Duration.ofSeconds(retryAfter));
    assertThat(admin.get("/api/v1/jobs").status()).as("the window ended").isEqualTo(200);

    // One desktop behind a NAT with a wrong agent token locks out that token only: the agent next to it, using
    // the same address, keeps its heartbeats and its code fetches.
    Http stale = Http.bearer(port, "nsa_stale-token-of-a-revoked-desktop");
    for (int i = 0; i < 10; i++) {
      assertThat(stale.post(AgentPaths.HEARTBEAT, "{}").status()).isEqualTo(401);
    }
    assertThat(stale.post(AgentPaths.HEARTBEAT, "{}").status()).isEqualTo(429);
    assertThat(good.http.post(AgentPaths.HEARTBEAT, "{}").status()).isNotIn(401, 429);
    assertThat(Http.basic(port, "agent", good.token).get("/git/code.git/info/refs?service=git-upload-pack").status())
        .isEqualTo(200);

    // Each kind of failure counts: enrollment tokens, Git passwords, agent tokens on Git.
    for (int i = 0; i < 10; i++) {
      register("guess");
      Http.basic(port, "x", "y").get("/git/code.git/info/refs?service=git-upload-pack");
      Http.basic(port, "agent", "nsa_guess").get("/git/code.git/info/refs?service=git-upload-pack");
    }
    assertThat(register("guess").status()).isEqualTo(429);
    assertThat(Http.basic(port, "x", "y").get("/git/code.git/info/refs?service=git-upload-pack").status())
        .isEqualTo(429);
    assertThat(Http.basic(port, "agent", "nsa_guess").get("/git/code.git/info/refs?service=git-upload-pack")
        .status()).isEqualTo(429);
    assertThat(admin.get("/api/v1/jobs").status()).isEqualTo(200);
  }

  @Test
  void theDashboardSendsSecurityHeadersAndUnauthenticatedBodiesAreSmall() {
    Http.Response login = Http.anonymous(port).get("/login");
    assertThat(login.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(login.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    assertThat(login.headers().firstValue("Referrer-Policy")).hasValue("same-origin");
    assertThat(login.headers().firstValue("Content-Security-Policy")).get().asString().contains("frame-ancestors 'none'");
    assertThat(login.headers().firstValue("Strict-Transport-Security")).as("only on HTTPS (TlsIT)").isEmpty();
    Http.Response big = Http.anonymous(port).post(AgentPaths.REGISTER, "{\"name\": \"" + "x".repeat(100_000) + "\"}");
    assertThat(big.status()).isEqualTo(413);
  }

  @Test
  void dashboardActionsAreAuditedWithTheirOutcome() throws Exception {
    long jobId = Jobs.submit(admin, Jobs.range("dash audited", "true", 10, 5));
    AccessMatrixTest.Session session = AccessMatrixTest.Session.login(port, "admin", Http.ADMIN_PASSWORD);
    assertThat(session.send("POST", "/ui/jobs/" + jobId + "/pause").statusCode()).isEqualTo(302);
    assertThat(session.send("POST", "/ui/jobs/999999/cancel").statusCode()).isEqualTo(302);
    JsonNode paused = admin.get("/api/v1/audit?target=/ui/jobs/" + jobId + "/pause").json().get("items").get(0);
    assertThat(paused.get("via").asString()).isEqualTo("dashboard");
    assertThat(paused.get("action").asString()).isEqualTo("POST /ui/jobs/{id}/{action}");
    assertThat(paused.get("outcome").asString()).isEqualTo("Job " + jobId + " paused.");
    JsonNode refused = admin.get("/api/v1/audit?target=/ui/jobs/999999/cancel").json().get("items").get(0);
    assertThat(refused.get("outcome").asString()).startsWith("refused: ").contains("999999");
  }

  @Test
  void failedLoginsAndEnrollmentsAreAudited() {
    assertThat(Http.basic(port, "nobody-here", "wrong-password-1").get("/api/v1/jobs").status()).isEqualTo(401);
    assertThat(Http.bearer(port, "nst_not-a-token").get("/api/v1/jobs").status()).isEqualTo(401);
    Http.Response refused =
        Http.anonymous(port)
            .post(
                AgentPaths.REGISTER,
                new dev.nightshift.protocol.RegisterRequest(
                    "wrong-enrollment-token", "intruder",
                    new dev.nightshift.protocol.HostFacts("intruder", "Linux", "amd64", 2, 1L << 30, "test", "17"), 1,
                    Map.of()));
    assertThat(refused.status()).isEqualTo(401);
    TestAgent.enroll(port, "newcomer", 1, Map.of());

    JsonNode failed = admin.get("/api/v1/audit?action=authentication%20failed").json().get("items");
    assertThat(failed.findValuesAsString("actor")).contains("user nobody-here");
    assertThat(failed.findValuesAsString("actor")).anyMatch(a -> a.startsWith("token "));
    assertThat(failed.toString()).doesNotContain("wrong-password-1").doesNotContain("nst_not-a-token");
    JsonNode enrollRefused = admin.get("/api/v1/audit?action=enrollment%20refused").json().get("items").get(0);
    assertThat(enrollRefused.get("status").asInt()).isEqualTo(401);
    assertThat(enrollRefused.get("target").asString()).isEqualTo(AgentPaths.REGISTER);
    assertThat(admin.get("/api/v1/audit?action=enrolled").json().get("items")).isNotEmpty();
  }

  @Test
  void gitPushesAreAudited() throws Exception {
    try (CodeFixture code = CodeFixture.open(port)) {
      code.commit("audit-1", Map.of("a.txt", "a\n"));
      code.push("audit-branch");
    }
    JsonNode push = admin.get("/api/v1/audit?action=git%20push").json().get("items").get(0);
    assertThat(push.get("actor").asString()).isEqualTo("admin");
    assertThat(push.get("via").asString()).isEqualTo("git");
    assertThat(push.get("target").asString()).isEqualTo("/git/code.git/git-receive-pack");
  }

  @Test
  void stateChangingActionsAreAuditedWithWhoWhatWhenAndWhere() {
    createUser("ops", "OPERATOR");
    long jobId = Jobs.submit(admin, Jobs.range("audited", "true", 10, 5));
    admin.post("/api/v1/jobs/" + jobId + "/pause", "");
    Http.Response token = admin.post("/api/v1/api-tokens", Map.of("name", "audit check"));
    Http bearer = Http.bearer(port, token.json().get("token").asString());
    bearer.post("/api/v1/jobs/" + jobId + "/cancel", "");
    Http.basic(port, "ops", "ops-password-1").post("/api/v1/jobs/" + jobId + "/resume", "");

    Http.Response audit = admin.get("/api/v1/audit?limit=50");
    assertThat(audit.status()).isEqualTo(200);
    JsonNode items = audit.json().get("items");
    String all = items.toString();
    assertThat(all)
        .contains("POST /api/v1/jobs\"")
        .contains("/api/v1/jobs/" + jobId + "\"")
        .contains("POST /api/v1/jobs/{id}/pause")
        .contains("POST /api/v1/users")
        .contains("POST /api/v1/api-tokens")
        .contains("\"via\":\"api-token:" + token.json().get("id").asLong() + "\"")
        .contains("127.0.0.1")
        .doesNotContain(token.json().get("token").asString())
        .doesNotContain("ops-password-1");
    assertThat(admin.get("/api/v1/audit?actor=ops").json().get("items"))
        .as("refused by role: never reached the application")
        .isEmpty();
    JsonNode newest = items.get(0);
    assertThat(newest.get("actor").asString()).isEqualTo("admin");
    assertThat(newest.get("action").asString()).isEqualTo("POST /api/v1/jobs/{id}/cancel");
    assertThat(newest.get("at").asString()).isNotBlank();

    // Filters and keyset paging.
    JsonNode pauses =
        admin.get("/api/v1/audit?action=pause&target=/api/v1/jobs/" + jobId + "/").json().get("items");
    assertThat(pauses).hasSize(1);
    JsonNode page = admin.get("/api/v1/audit?limit=1").json();
    long next = page.get("nextBefore").asLong();
    JsonNode second = admin.get("/api/v1/audit?limit=1&before=" + next).json().get("items");
    assertThat(second.get(0).get("id").asLong()).isLessThan(next);
    assertThat(Http.basic(port, "ops", "ops-password-1").get("/api/v1/audit").status()).isEqualTo(403);
  }
}
