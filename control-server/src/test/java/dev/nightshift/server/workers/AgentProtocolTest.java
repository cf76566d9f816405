package dev.nightshift.server.workers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.ReleaseRequest;
import dev.nightshift.server.batches.ClaimDispatcher;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/** The agent protocol over real HTTP: enrollment, long-poll claims woken by submissions, release, workers API. */
@NightshiftTest
class AgentProtocolTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired ClaimDispatcher dispatcher;

  @BeforeEach
  void quiet() {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
  }

  private Http.Response register(String token, int slots) {
    return Http.anonymous(port)
        .post(
            AgentPaths.REGISTER,
            new RegisterRequest(token, "pc", new HostFacts("pc", "Linux", "amd64", 2, 0, "t", "17"), slots, Map.of()));
  }

  /** Bad inputs tried: no token, a wrong token, 0 and 1000 slots, a garbage body, an unknown agent token. */
  @Test
  void aWeakStandingEnrollmentTokenStopsTheServerNamingTheVariable() {
    // tries: "a", 11 characters; accepted: unset, the tests' token
    for (String weak : List.of("a", "abcdefghijk")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> EnrollmentService.checkStanding(weak))
          .hasMessageContaining("NIGHTSHIFT_ENROLLMENT_TOKEN is too short");
    }
    EnrollmentService.checkStanding(null);
    EnrollmentService.checkStanding(dev.nightshift.server.testing.Http.ENROLLMENT_TOKEN);
  }

  @Test
  void enrollmentNeedsAValidTokenAndSaneSettings() {
    assertThat(register(null, 1).status()).isEqualTo(401);
    Http.Response wrong = register("guess", 1);
    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.detail()).contains("ask an admin for a new one");
    assertThat(register(Http.ENROLLMENT_TOKEN, 0).detail()).contains("slots must be between 1 and 256");
    assertThat(register(Http.ENROLLMENT_TOKEN, 1000).status()).isEqualTo(400);
    assertThat(Http.anonymous(port).post(AgentPaths.REGISTER, "{\"slots\":").status()).isEqualTo(400);
    Http.Response unknown = Http.bearer(port, "nsa_nope").post(AgentPaths.CLAIM, new ClaimRequest(1, 0));
    assertThat(unknown.status()).isEqualTo(401);
    assertThat(unknown.detail()).contains("enroll the agent again");
    assertThat(Http.anonymous(port).post(AgentPaths.HEARTBEAT, "{}").status()).isEqualTo(401);
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM worker", Integer.class)).isZero();
  }

  @Test
  void enrollmentTokensFromTheApiHaveUseLimitsAndCanBeRevoked() {
    Http admin = Http.admin(port);
    Http.Response created = admin.post("/api/v1/enrollment-tokens", "{\"description\":\"lab\",\"maxUses\":1}");
    assertThat(created.status()).isEqualTo(201);
    String token = created.json().get("token").asString();
    assertThat(token).startsWith("nse_");
    assertThat(register(token, 1).status()).isEqualTo(200);
    assertThat(register(token, 1).status()).as("used up").isEqualTo(401);
    String second = admin.post("/api/v1/enrollment-tokens", "{}").json().get("token").asString();
    long id = admin.get("/api/v1/enrollment-tokens").json().get("items").get(0).get("id").asLong();
    assertThat(admin.delete("/api/v1/enrollment-tokens/" + id).status()).isEqualTo(204);
    assertThat(register(second, 1).status()).as("revoked").isEqualTo(401);
    assertThat(admin.get("/api/v1/enrollment-tokens").body()).doesNotContain(token).doesNotContain(second);
    assertThat(admin.post("/api/v1/enrollment-tokens", "{\"maxUses\":0}").status()).isEqualTo(400);
  }

  @Test
  void aWaitingClaimIsWokenBySubmittedWork() throws Exception {
    TestAgent agent = TestAgent.enroll(port, "waiter", 2, Map.of());
    CompletableFuture<List<Lease>> claim = CompletableFuture.supplyAsync(() -> agent.claim(2, 20_000));
    await().atMost(Duration.ofSeconds(10)).until(() -> dispatcher.waiting() == 1);
    Jobs.submit(Http.admin(port), Jobs.range("wake", "true", 3, 1));
    assertThat(claim.get()).hasSize(2);
  }

  @Test
  void aStoppingAgentsFinalHeartbeatDropsItsParkedClaimAndRequeuesWhatItDoesNotHold() throws Exception {
    Jobs.submit(Http.admin(port), Jobs.range("goodbye", "true", 1, 1));
    TestAgent agent = TestAgent.enroll(port, "stopping", 2, Map.of());
    Lease held = agent.claim(1, 0).get(0);
    CompletableFuture<List<Lease>> parked = CompletableFuture.supplyAsync(() -> agent.claim(1, 20_000));
    await().atMost(Duration.ofSeconds(10)).until(() -> dispatcher.waiting() == 1);
    Http.Response bye =
        agent.http.post(
            AgentPaths.HEARTBEAT,
            new dev.nightshift.protocol.HeartbeatRequest(
                dev.nightshift.protocol.WorkerState.OFFLINE, "agent shutting down", 2, 2, List.of(), null));
    assertThat(bye.status()).isEqualTo(200);
    assertThat(parked.get()).as("the parked claim is answered with nothing").isEmpty();
    JsonNode batch = Http.admin(port).get("/api/v1/batches/" + held.batchId()).json();
    assertThat(batch.get("state").asString()).isEqualTo("PENDING");
    assertThat(batch.get("attemptHistory").get(0).get("error").asString()).contains("stopped");
  }

  @Test
  void aClaimWithNothingToDoAnswersEmptyWhenItsWaitRunsOut() {
    TestAgent agent = TestAgent.enroll(port, "patient", 1, Map.of());
    assertThat(agent.claim(1, 300)).isEmpty();
    assertThat(agent.claim(0, 0)).isEmpty();
    // answered by the dispatcher's own expiry, somewhere in the last half of the wait (Tomcat's timeout, 10 s
    // later, is only a backstop)
    long start = System.nanoTime();
    assertThat(agent.claim(1, 2_000)).isEmpty();
    long tookMillis = (System.nanoTime() - start) / 1_000_000;
    assertThat(tookMillis).as("answered in the wait's last half, not by the backstop").isBetween(950L, 7_000L);
    await().atMost(Duration.ofSeconds(5)).until(() -> dispatcher.waiting() == 0);
  }

  @Test
  void releasedLeasesAreRequeuedAtOnceWithoutUsingAnAttempt() {
    long id = Jobs.submit(Http.admin(port), Jobs.range("release", "true", 2, 1));
    TestAgent first = TestAgent.enroll(port, "leaving", 2, Map.of());
    List<Lease> leases = first.claim(2, 0);
    Http.Response released =
        first.http.post(
            AgentPaths.RELEASE, new ReleaseRequest(leases.stream().map(Lease::ref).toList(), "owner returned"));
    assertThat(released.json().get("released").asInt()).isEqualTo(2);
    // Releasing again changes nothing.
    assertThat(
            first.http
                .post(AgentPaths.RELEASE, new ReleaseRequest(List.of(leases.get(0).ref()), "again"))
                .json()
                .get("released")
                .asInt())
        .isZero();
    TestAgent second = TestAgent.enroll(port, "arriving", 2, Map.of());
    List<Lease> again = second.claim(2, 0);
    assertThat(again).hasSize(2);
    assertThat(again.get(0).attempt()).isEqualTo(2);
    JsonNode batch = Http.admin(port).get("/api/v1/batches/" + again.get(0).batchId()).json();
    assertThat(batch.get("failures").asInt()).isZero();
    assertThat(batch.get("attemptHistory").get(0).get("outcome").asString()).isEqualTo("RELEASED");
    assertThat(batch.get("attemptHistory").get(0).get("error").asString()).isEqualTo("owner returned");
    assertThat(Jobs.get(Http.admin(port), id).get("counts").get("leased").asInt()).isEqualTo(2);
  }

  @Test
  void workersAreListedWithTheirStateAndRunningBatches() {
    Jobs.submit(Http.admin(port), Jobs.range("seen", "true", 1, 1));
    TestAgent agent = TestAgent.enroll(port, "desk-17", 1, Map.of("os", "linux"));
    Lease lease = agent.claim(1, 0).get(0);
    agent.heartbeat(List.of(lease.ref()));
    JsonNode list = Http.admin(port).get("/api/v1/workers").json().get("items");
    assertThat(list).hasSize(1);
    assertThat(list.get(0).get("name").asString()).isEqualTo("desk-17");
    assertThat(list.get(0).get("state").asString()).isEqualTo("IDLE");
    assertThat(list.get(0).get("labels").get("os").asString()).isEqualTo("linux");
    JsonNode one = Http.admin(port).get("/api/v1/workers/" + agent.workerId).json();
    assertThat(one.get("running").get(0).get("batchId").asLong()).isEqualTo(lease.batchId());
    assertThat(Http.admin(port).get("/api/v1/workers/nope").status()).isEqualTo(404);
    assertThat(one.toString()).doesNotContain(agent.token);
  }
}
