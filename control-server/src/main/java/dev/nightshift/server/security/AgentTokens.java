package dev.nightshift.server.security;

import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Finds the worker an agent token belongs to (by its SHA-256 hash); revoked workers' tokens find nothing. Nothing
 * is cached: a revocation takes effect at the very next call.
 */
@Component
public class AgentTokens {
  private final JdbcClient jdbc;
  private final Clock clock;
  private final Duration instanceTimeout;

  AgentTokens(JdbcClient jdbc, Clock clock, NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.clock = clock;
    this.instanceTimeout = properties.lease().offlineAfter();
  }

  public Optional<AgentPrincipal> lookup(String token) {
    if (token == null || !token.startsWith(Tokens.AGENT)) {
      return Optional.empty();
    }
    return jdbc.sql("SELECT id, name FROM worker WHERE token_hash = ? AND revoked_at IS NULL")
        .param(Tokens.sha256(token))
        .query((rs, n) -> new AgentPrincipal(rs.getString(1), rs.getString(2)))
        .optional();
  }

  /**
   * Records that this agent process ({@code instance}, a random id per process) uses the worker's identity, unless
   * another process does and called within the offline timeout. Returns the refusal, or empty when allowed.
   */
  Optional<String> claimInstance(AgentPrincipal agent, String instance, String address) {
    if (instance == null || instance.isBlank()) {
      return Optional.empty(); // agents before this protocol addition; tests speaking the protocol by hand
    }
    String id = instance.length() > 64 ? instance.substring(0, 64) : instance;
    Instant now = clock.instant();
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

  /** Forgets the process using this identity (it is stopping): another may take over at once. */
  public void releaseInstance(String workerId) {
    jdbc.sql("UPDATE worker SET instance_id = NULL WHERE id = ?").param(workerId).update();
  }
}
