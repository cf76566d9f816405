package dev.nightshift.server.security;

import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Finds the worker an agent token belongs to (by its SHA-256 hash); revoked workers' tokens find nothing. Nothing
 * is cached: a revocation takes effect at the very next call, on every server instance.
 */
@Component
public class AgentTokens {
  private final JdbcClient jdbc;
  private final Clock clock;
  private final Duration instanceTimeout;
  private final Duration instanceRewrite;
  private final AtomicLong instanceWrites = new AtomicLong();

  AgentTokens(JdbcClient jdbc, Clock clock, NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.clock = clock;
    this.instanceTimeout = properties.lease().offlineAfter();
    this.instanceRewrite = instanceTimeout.dividedBy(2);
  }

  /**
   * The worker behind a token, with the agent process its row says uses the identity (read in the same query, so
   * {@link #claimInstance} mostly needs no statement of its own).
   */
  record Caller(AgentPrincipal principal, String instanceId, String instanceAddress, Instant instanceSeenAt) {}

  public Optional<AgentPrincipal> lookup(String token) {
    return find(token).map(Caller::principal);
  }

  Optional<Caller> find(String token) {
    if (token == null || !token.startsWith(Tokens.AGENT)) {
      return Optional.empty();
    }
    return jdbc.sql(
            """
            SELECT id, name, instance_id, instance_address, instance_seen_at FROM worker
            WHERE token_hash = ? AND revoked_at IS NULL""")
        .param(Tokens.sha256(token))
        .query(
            (rs, n) ->
                new Caller(
                    new AgentPrincipal(rs.getString(1), rs.getString(2)),
                    rs.getString(3),
                    rs.getString(4),
                    Times.instant(rs, "instance_seen_at")))
        .optional();
  }

  /**
   * Records that this agent process ({@code instance}, a random id per process) uses the worker's identity, unless
   * another process does and called within the offline timeout. Returns the refusal, or empty when allowed.
   *
   * <p>No write when the worker's row, as {@link #find} just read it, already names this process at this address
   * and was written less than half the offline timeout ago (every heartbeat refreshes it in the same statement that
   * records the heartbeat, so a live agent's claims and reports never write the worker row). This is safe with several server instances on
   * one database because the decision rests on the shared row, not on memory of this instance: a different process
   * (a clone) never matches the row, so it always runs the conditional UPDATE below, exactly as before; and once
   * another process has taken the identity over (through any instance), the row names that one, so the original is
   * refused at its very next call. The only cost: the row's {@code instance_seen_at} may lag the agent's latest
   * call by up to half the timeout, so a live agent keeps its identity as long as it heartbeats at least every half
   * of the timeout (45 s of the default 90 s; agents heartbeat every 30 s), and one killed is replaceable 45-90 s
   * after its last call instead of 90 s. The comparison uses this instance's clock against a
   * time another instance may have written: clocks must agree (NTP), as the takeover rule already requires.
   */
  Optional<String> claimInstance(Caller caller, String instance, String address) {
    if (instance == null || instance.isBlank()) {
      return Optional.empty(); // agents before this protocol addition; tests speaking the protocol by hand
    }
    String id = instance.length() > 64 ? instance.substring(0, 64) : instance;
    Instant now = clock.instant();
    if (id.equals(caller.instanceId())
        && Objects.equals(address, caller.instanceAddress())
        && caller.instanceSeenAt() != null
        && caller.instanceSeenAt().isAfter(now.minus(instanceRewrite))) {
      return Optional.empty();
    }
    AgentPrincipal agent = caller.principal();
    instanceWrites.incrementAndGet();
    int claimed =
        jdbc.sql(
                """
                UPDATE worker SET instance_id = ?, instance_address = ?, instance_seen_at = ?
                WHERE id = ? AND (instance_id IS NULL OR instance_id = ? OR instance_seen_at < ?)""")
            .params(id, address, Times.db(now), agent.workerId(), id, Times.db(now.minus(instanceTimeout)))
            .update();
    if (claimed == 1) {
      return Optional.empty();
    }
    return jdbc.sql("SELECT hostname, instance_address FROM worker WHERE id = ?")
        .param(agent.workerId())
        .query(
            (rs, n) ->
                "another agent (host "
                    + rs.getString(1)
                    + ", address "
                    + rs.getString(2)
                    + ") is already using this identity (worker "
                    + agent
                    + "): if this machine is a clone, delete identity.json in the clone's data dir and enroll it"
                    + " again; if the other agent stopped without saying so, this one is accepted "
                    + instanceTimeout.toSeconds()
                    + " s after its last call")
        .optional();
  }

  /** How many instance UPDATEs ran since start (tests, diagnostics). */
  long instanceWrites() {
    return instanceWrites.get();
  }

  /** Forgets the process using this identity (it is stopping): another may take over at once. */
  public void releaseInstance(String workerId) {
    jdbc.sql("UPDATE worker SET instance_id = NULL WHERE id = ?").param(workerId).update();
  }
}
