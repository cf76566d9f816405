package dev.nightshift.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.MutableClock;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.sql.Timestamp;
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
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * What a repeated call costs, and that every security decision still takes effect at the very next call, over real
 * HTTP against the real database: HTTP Basic runs bcrypt once per user and password per cache TTL; an agent's
 * instance row is rewritten by other calls only when its record is older than half the offline timeout (heartbeats refresh it in their own statement); an API token's last use once a minute.
 *
 * <p>Bad inputs tried against the credential cache: a wrong password right after the right one (also one that only
 * adds a character, and an empty one), the right password of another user, 10 wrong passwords in a row (the limiter
 * still answers 429, even for the cached right password), the cached password after it was changed, after the user
 * was disabled, demoted or deleted, and after another server instance changed the row directly (no hook on this
 * instance ran). Against the instance rule: a clone while the original's writes are being skipped, a takeover
 * recorded by another instance while the original's last write is recent, a revoked worker whose instance write
 * was skipped a moment before, and a restart after an OFFLINE heartbeat.
 */
@NightshiftTest
class RepeatedAuthenticationTest {
  private static final String PASSWORD = "cached-password-1";
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired MutableClock clock;
  @Autowired AuthFailureLimiter limiter;
  @Autowired VerifiedCredentials verified;
  @Autowired AgentTokens agentTokens;
  @Autowired PasswordEncoder encoder;
  @Autowired SecurityProperties properties;
  @Autowired NightshiftProperties nightshift;

  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    limiter.reset();
    admin = Http.admin(port);
    for (String user : List.of("cara", "carl")) {
      admin.delete("/api/v1/users/" + user);
      Http.Response r = admin.post("/api/v1/users", Map.of("username", user, "password", PASSWORD, "role", "OPERATOR"));
      assertThat(r.status()).as(r.toString()).isEqualTo(201);
    }
  }

  @AfterEach
  void tearDown() {
    limiter.reset();
  }

  @Test
  void aVerifiedPasswordIsCheckedWithBcryptOncePerTtl() {
    Http cara = Http.basic(port, "cara", PASSWORD);
    long before = verified.bcryptChecks();
    for (int i = 0; i < 5; i++) {
      assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
    }
    assertThat(verified.bcryptChecks() - before).as("five calls, one bcrypt").isEqualTo(1);

    assertThat(Http.basic(port, "carl", PASSWORD).get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(verified.bcryptChecks() - before).as("the same password of another user is its own entry").isEqualTo(2);

    clock.advance(properties.credentialCacheTtl().plusSeconds(1));
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(verified.bcryptChecks() - before).as("after the TTL, bcrypt again").isEqualTo(3);
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(verified.bcryptChecks() - before).isEqualTo(3);
  }

  @Test
  void aWrongPasswordAfterTheRightOneFailsRunsBcryptAndCountsTowardTheLimit() {
    Http cara = Http.basic(port, "cara", PASSWORD);
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
    long before = verified.bcryptChecks();
    List<Http> wrong =
        List.of(
            Http.basic(port, "cara", PASSWORD + "x"),
            Http.basic(port, "cara", ""),
            Http.basic(port, "cara", "cached-password-2"));
    for (Http w : wrong) {
      assertThat(w.get("/api/v1/jobs").status()).isEqualTo(401);
    }
    assertThat(verified.bcryptChecks() - before).as("every wrong password is checked with bcrypt").isEqualTo(3);
    for (int i = wrong.size(); i < properties.authFailureLimit(); i++) {
      assertThat(wrong.get(0).get("/api/v1/jobs").status()).isEqualTo(401);
    }
    assertThat(cara.get("/api/v1/jobs").status())
        .as("the limiter counted every failure: even the cached right password waits")
        .isEqualTo(429);
    limiter.reset();
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
  }

  @Test
  void changesThroughTheApiTakeEffectAtTheNextCall() {
    Http cara = Http.basic(port, "cara", PASSWORD);
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/users").status()).isEqualTo(403);

    assertThat(admin.patch("/api/v1/users/cara", Map.of("role", "ADMIN")).status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/users").status()).as("promoted").isEqualTo(200);
    assertThat(admin.patch("/api/v1/users/cara", Map.of("role", "OPERATOR")).status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/users").status()).as("demoted").isEqualTo(403);

    assertThat(admin.patch("/api/v1/users/cara", Map.of("enabled", false)).status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/jobs").status()).as("disabled").isEqualTo(401);
    assertThat(admin.patch("/api/v1/users/cara", Map.of("enabled", true)).status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/jobs").status()).as("enabled again").isEqualTo(200);

    assertThat(admin.patch("/api/v1/users/cara", Map.of("password", "cached-password-2")).status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/jobs").status()).as("old password").isEqualTo(401);
    assertThat(Http.basic(port, "cara", "cached-password-2").get("/api/v1/jobs").status()).isEqualTo(200);

    assertThat(admin.delete("/api/v1/users/cara").status()).isEqualTo(204);
    assertThat(Http.basic(port, "cara", "cached-password-2").get("/api/v1/jobs").status()).as("deleted").isEqualTo(401);
    assertThat(Http.basic(port, "cara", "cached-password-2").get("/git/code.git/info/refs?service=git-upload-pack")
            .status())
        .as("git too")
        .isEqualTo(401);
  }

  @Test
  void changesMadeByAnotherServerInstanceTakeEffectAtTheNextCall() {
    // Another instance changes the row; no hook runs here, so only what this instance reads can stop the call.
    Http cara = Http.basic(port, "cara", PASSWORD);
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);

    jdbc.update("UPDATE app_user SET role = 'ADMIN' WHERE username = 'cara'");
    assertThat(cara.get("/api/v1/users").status()).as("promoted elsewhere").isEqualTo(200);
    jdbc.update("UPDATE app_user SET role = 'OPERATOR' WHERE username = 'cara'");
    assertThat(cara.get("/api/v1/users").status()).as("demoted elsewhere").isEqualTo(403);

    jdbc.update("UPDATE app_user SET enabled = FALSE WHERE username = 'cara'");
    assertThat(cara.get("/api/v1/jobs").status()).as("disabled elsewhere").isEqualTo(401);
    jdbc.update("UPDATE app_user SET enabled = TRUE WHERE username = 'cara'");
    assertThat(cara.get("/api/v1/jobs").status()).isEqualTo(200);

    jdbc.update(
        "UPDATE app_user SET password_hash = ? WHERE username = 'cara'", encoder.encode("cached-password-3"));
    assertThat(cara.get("/api/v1/jobs").status()).as("password changed elsewhere").isEqualTo(401);
    assertThat(Http.basic(port, "cara", "cached-password-3").get("/api/v1/jobs").status()).isEqualTo(200);

    jdbc.update("DELETE FROM app_user WHERE username = 'cara'");
    assertThat(Http.basic(port, "cara", "cached-password-3").get("/api/v1/jobs").status())
        .as("deleted elsewhere")
        .isEqualTo(401);
  }

  @Test
  void anAgentsRepeatedCallsDoNotRewriteItsInstanceAndACloneIsStillRefused() {
    TestAgent agent = TestAgent.enroll(port, "steady", 1, Map.of());
    Http first = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString());
    Http clone = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString());
    assertThat(first.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status()).isEqualTo(200);
    Timestamp written = seenAt(agent);
    long writes = agentTokens.instanceWrites();

    Duration half = nightshift.lease().offlineAfter().dividedBy(2);
    clock.advance(half.minusSeconds(5));
    for (int i = 0; i < 3; i++) {
      assertThat(first.post(AgentPaths.CLAIM, new ClaimRequest(1, 0)).status()).isEqualTo(200);
    }
    assertThat(agentTokens.instanceWrites()).as("three claims, no instance write").isEqualTo(writes);
    assertThat(seenAt(agent)).isEqualTo(written);

    // A heartbeat refreshes the instance's record in the statement that records the heartbeat: no extra write.
    assertThat(first.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status()).isEqualTo(200);
    assertThat(agentTokens.instanceWrites()).as("a heartbeat, no instance write").isEqualTo(writes);
    Timestamp refreshed = seenAt(agent);
    assertThat(refreshed).as("the heartbeat refreshed the instance's record").isAfter(written);

    Http.Response refused = clone.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE));
    assertThat(refused.status()).as("a clone always meets the conditional UPDATE").isEqualTo(409);
    assertThat(refused.detail()).contains("already using this identity");

    clock.advance(half.plusSeconds(1));
    assertThat(first.post(AgentPaths.CLAIM, new ClaimRequest(1, 0)).status()).isEqualTo(200);
    assertThat(agentTokens.instanceWrites()).as("half the timeout passed: written again").isGreaterThan(writes);
    assertThat(seenAt(agent)).isAfter(refreshed);

    // Another server instance recorded a different process (e.g. it saw the original silent, on its clock): the
    // original is refused at its next call although this instance wrote its row moments ago.
    jdbc.update(
        "UPDATE worker SET instance_id = 'elsewhere', instance_seen_at = ? WHERE id = ?",
        Times.db(clock.instant()), agent.workerId);
    assertThat(first.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status()).isEqualTo(409);
  }

  @Test
  void aRestartedAgentsFirstHeartbeatAndClaimMayRaceForTheTakeover() {
    TestAgent agent = TestAgent.enroll(port, "racing", 1, Map.of());
    String old = UUID.randomUUID().toString();
    assertThat(agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, old)
            .post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status())
        .isEqualTo(200);
    // The restarted process's heartbeat and claim both read the row naming the old process...
    AgentTokens.Caller heartbeatsView = agentTokens.find(agent.token).orElseThrow();
    String restarted = UUID.randomUUID().toString();
    // ...the claim's takeover lands first...
    assertThat(agentTokens.claimInstance(agentTokens.find(agent.token).orElseThrow(), restarted, old, "127.0.0.1"))
        .isEmpty();
    // ...and the heartbeat's conditional UPDATE then finds the row changed: by this very process, so it is let in.
    assertThat(agentTokens.claimInstance(heartbeatsView, restarted, old, "127.0.0.1")).isEmpty();
    assertThat(agentTokens.claimInstance(heartbeatsView, UUID.randomUUID().toString(), old, "127.0.0.1"))
        .as("another process naming the same predecessor (a copy) is not")
        .isPresent();
  }

  @Test
  void aStoppingAgentFreesItsIdentityAndARevokedOneIsRefusedAtOnce() {
    TestAgent agent = TestAgent.enroll(port, "restarting", 1, Map.of());
    Http first = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString());
    Http restarted = agent.http.withHeader(AgentPaths.AGENT_INSTANCE_HEADER, UUID.randomUUID().toString());
    assertThat(first.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status()).isEqualTo(200);
    assertThat(first.post(AgentPaths.HEARTBEAT, beat(WorkerState.OFFLINE)).status()).isEqualTo(200);
    assertThat(restarted.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status())
        .as("the OFFLINE heartbeat freed the identity at once")
        .isEqualTo(200);
    assertThat(first.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status())
        .as("the old process is now the stranger")
        .isEqualTo(409);

    long writes = agentTokens.instanceWrites();
    assertThat(restarted.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE)).status()).isEqualTo(200);
    assertThat(agentTokens.instanceWrites()).as("write skipped").isEqualTo(writes);
    assertThat(admin.post("/api/v1/workers/" + agent.workerId + "/revoke", "").status()).isEqualTo(200);
    Http.Response revoked = restarted.post(AgentPaths.HEARTBEAT, beat(WorkerState.IDLE));
    assertThat(revoked.status()).isEqualTo(401);
    assertThat(revoked.detail()).contains("revoked");
  }

  @Test
  void anApiTokensLastUseIsWrittenOncePerMinute() {
    Http.Response created = admin.post("/api/v1/api-tokens", Map.of("name", "busy script", "username", "cara"));
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    long id = created.json().get("id").asLong();
    Http script = Http.bearer(port, created.json().get("token").asString());
    assertThat(script.get("/api/v1/jobs").status()).isEqualTo(200);
    Timestamp first = lastUsed(id);
    assertThat(first).isNotNull();
    clock.advance(Duration.ofSeconds(50));
    assertThat(script.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(lastUsed(id)).isEqualTo(first);
    clock.advance(Duration.ofSeconds(11));
    assertThat(script.get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(lastUsed(id)).isAfter(first);
  }

  private static String beat(WorkerState state) {
    return Http.JSON.writeValueAsString(new HeartbeatRequest(state, "test", 1, 1, List.of(), null));
  }

  private Timestamp seenAt(TestAgent agent) {
    return jdbc.queryForObject("SELECT instance_seen_at FROM worker WHERE id = ?", Timestamp.class, agent.workerId);
  }

  private Timestamp lastUsed(long tokenId) {
    return jdbc.queryForObject("SELECT last_used_at FROM api_token WHERE id = ?", Timestamp.class, tokenId);
  }
}
