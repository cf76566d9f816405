package dev.nightshift.server.security;

import dev.nightshift.protocol.ProblemReasons;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Finds the worker an agent token belongs to (by its SHA-256 hash); revoked workers' tokens find nothing. Nothing
 * is cached: a revocation takes effect at the very next call, on every server instance.
 */
@Component
public class AgentTokens {
  private final JdbcClient jdbc;
  private final dev.nightshift.server.system.Transactions tx;
  private final Clock clock;
  private final Duration instanceTimeout;
  private final Duration instanceRewrite;
  private final AtomicLong instanceWrites = new AtomicLong();
  /** How long after a takeover a call of the replaced process is taken for one still on its way, not a clone. */
  static final Duration CLONE_GRACE = Duration.ofSeconds(10);
  private static final Logger log = LoggerFactory.getLogger(AgentTokens.class);

  AgentTokens(
      JdbcClient jdbc, Clock clock, NightshiftProperties properties, dev.nightshift.server.system.Transactions tx) {
    this.jdbc = jdbc;
    this.tx = tx;
    this.clock = clock;
    this.instanceTimeout = properties.lease().offlineAfter();
    this.instanceRewrite = instanceTimeout.dividedBy(2);
  }

  /**
   * The worker behind a token, with the agent process its row says uses the identity (read in the same query, so
   * {@link #claimInstance} mostly needs no statement of its own).
   */
  record Caller(
      AgentPrincipal principal,
      String instanceId,
      String instanceAddress,
      Instant instanceSeenAt,
      String instancePrevious,
      Instant instanceTakenAt,
      String clonedInstance) {}

  /** Why an agent process may not use an identity now: a {@link ProblemReasons} value and the detail. */
  record Refusal(String reason, String detail) {}

  public Optional<AgentPrincipal> lookup(String token) {
    return find(token).map(Caller::principal);
  }

  Optional<Caller> find(String token) {
    if (token == null || !token.startsWith(Tokens.AGENT)) {
      return Optional.empty();
    }
    return jdbc.sql(
            """
            SELECT id, name, instance_id, instance_address, instance_seen_at, instance_previous,
                   instance_taken_at, cloned_instance, labels,
                   drained_at IS NOT NULL OR approval_pending_at IS NOT NULL, data_state
            FROM worker WHERE token_hash = ? AND revoked_at IS NULL""")
        .param(Tokens.sha256(token))
        .query(
            (rs, n) ->
                new Caller(
                    new AgentPrincipal(
                        rs.getString(1), rs.getString(2), rs.getString(9), rs.getBoolean(10), rs.getString(11)),
                    rs.getString(3),
                    rs.getString(4),
                    Times.instant(rs, "instance_seen_at"),
                    rs.getString(6),
                    Times.instant(rs, "instance_taken_at"),
                    rs.getString(8)))
        .optional();
  }

  /**
   * Records that this agent process ({@code instance}, a random id per process) uses the worker's identity, unless
   * another process does. Returns the refusal, or empty when allowed. The rules, in order:
   *
   * <ol>
   *   <li>The row already names this process: allowed; no write while the row was refreshed less than half the
   *       offline timeout ago (every heartbeat refreshes it in the same statement that records the heartbeat, so a
   *       live agent's claims and reports never write the worker row).
   *   <li>This process was found out as a clone ({@code cloned_instance}), or succeeds one on its data dir:
   *       refused until it enrolls anew.
   *   <li>This process names, among the processes that ran on its data dir before it ({@code previous}, newest
   *       first: one may have died before its first call), the very process the row names: a restart (the agent's data-dir lock lets only one process run per data dir), so
   *       it takes the identity over at once, whether or not the old process's calls are recent (one SIGKILLed
   *       called a moment ago).
   *   <li>This process is the one a successor took the identity over from, and calls more than {@link
   *       #CLONE_GRACE} after that takeover: the old process is alive, so the "successor" ran on a copy of its data
   *       dir (a cloned VM image). The original gets its identity back and the copy is refused from then on.
   *       Within the grace it is refused (a request of a killed process still on its way).
   *   <li>Otherwise the ordinary rule: allowed when no process uses the identity or the one that does has not
   *       called within the offline timeout.
   * </ol>
   *
   * <p>This is safe with several server instances on one database because every decision rests on the shared row,
   * changed only by conditional UPDATEs, not on memory of this instance. The row's {@code instance_seen_at} may lag
   * the agent's latest call by up to half the timeout, so a live agent keeps its identity as long as it heartbeats
   * at least every half of the timeout (45 s of the default 90 s; agents heartbeat every 30 s). Clocks of server
   * instances must agree (NTP), as the takeover rule already requires.
   */
  Optional<Refusal> claimInstance(Caller caller, String instance, String previous, String address) {
    if (instance == null || instance.isBlank()) {
      return Optional.empty(); // agents before this protocol addition; tests speaking the protocol by hand
    }
    String id = clip(instance);
    List<String> predecessors = predecessors(previous);
    Instant now = clock.instant();
    AgentPrincipal agent = caller.principal();
    if (id.equals(caller.instanceId())) {
      if (Objects.equals(address, caller.instanceAddress())
          && caller.instanceSeenAt() != null
          && caller.instanceSeenAt().isAfter(now.minus(instanceRewrite))) {
        return Optional.empty();
      }
      return update(
              "UPDATE worker SET instance_address = ?, instance_seen_at = ? WHERE id = ? AND instance_id = ?",
              address, Times.db(now), agent.workerId(), id)
          ? Optional.empty()
          : inUse(agent, id); // taken over meanwhile
    }
    if (id.equals(caller.clonedInstance())
        || (caller.clonedInstance() != null && predecessors.contains(caller.clonedInstance()))) {
      return Optional.of(
          new Refusal(
              ProblemReasons.IDENTITY_CLONED,
              "this agent runs on a copy of another agent's data dir (a cloned VM image?): the agent it was copied"
                  + " from still runs as worker "
                  + agent
                  + ". Stop this agent, delete identity.json in its data dir and enroll it again as a new worker"));
    }
    if (caller.instanceId() != null && predecessors.contains(caller.instanceId())) {
      String prev = caller.instanceId();
      boolean took =
          update(
              """
              UPDATE worker SET instance_id = ?, instance_address = ?, instance_seen_at = ?, instance_previous = ?,
                     instance_taken_at = ?
              WHERE id = ? AND instance_id = ?""",
              id, address, Times.db(now), prev, Times.db(now), agent.workerId(), prev);
      if (took) {
        log.info("worker {}: agent restarted (instance {} succeeds {})", agent, id, prev);
        return Optional.empty();
      }
      return inUse(agent, id);
    }
    if (id.equals(caller.instancePrevious()) && caller.instanceId() != null) {
      if (caller.instanceTakenAt() != null && caller.instanceTakenAt().isAfter(now.minus(CLONE_GRACE))) {
        return inUse(agent);
      }
      boolean back =
          update(
              """
              UPDATE worker SET cloned_instance = instance_id, instance_id = ?, instance_address = ?,
                     instance_seen_at = ?, instance_previous = NULL, instance_taken_at = NULL
              WHERE id = ? AND instance_id = ? AND instance_previous = ?""",
              id, address, Times.db(now), agent.workerId(), caller.instanceId(), id);
      if (back) {
        log.warn(
            "worker {}: agent instance {} claimed to succeed {}, but {} still calls: {} runs on a copy of this"
                + " agent's data dir (a cloned VM image?) and is refused from now on",
            agent, caller.instanceId(), id, id, caller.instanceId());
        return Optional.empty();
      }
      return inUse(agent, id);
    }
    boolean claimed =
        update(
            """
            UPDATE worker SET instance_id = ?, instance_address = ?, instance_seen_at = ?, instance_previous = NULL,
                   instance_taken_at = ?
            WHERE id = ? AND (instance_id IS NULL OR instance_seen_at < ?)""",
            id, address, Times.db(now), Times.db(now), agent.workerId(), Times.db(now.minus(instanceTimeout)));
    return claimed ? Optional.empty() : inUse(agent, id);
  }

  private boolean update(String sql, Object... params) {
    instanceWrites.incrementAndGet();
    // Retried after a lost lock race or a certification conflict (another node wrote the row): the UPDATE's own
    // condition decides again on the row as it is then.
    return tx.inTransaction(() -> jdbc.sql(sql).params(params).update()) == 1;
  }

  /**
   * The refusal after a conditional UPDATE found the row changed, unless the change was this very process's own:
   * a restarted agent's first heartbeat and first claim go out together, both read the row naming the predecessor,
   * and the one whose takeover lost must still be let in.
   */
  private Optional<Refusal> inUse(AgentPrincipal agent, String id) {
    String now =
        jdbc.sql("SELECT instance_id FROM worker WHERE id = ?").param(agent.workerId()).query(String.class)
            .optional().orElse(null);
    return id.equals(now) ? Optional.empty() : inUse(agent);
  }

  private Optional<Refusal> inUse(AgentPrincipal agent) {
    return jdbc.sql("SELECT hostname, instance_address FROM worker WHERE id = ?")
        .param(agent.workerId())
        .query(
            (rs, n) ->
                new Refusal(
                    ProblemReasons.IDENTITY_IN_USE,
                    "another agent (host "
                        + rs.getString(1)
                        + ", address "
                        + rs.getString(2)
                        + ") is already using this identity (worker "
                        + agent
                        + "): if this machine is a clone, delete identity.json in the clone's data dir and enroll"
                        + " it again; if the other agent stopped without saying so, this one is accepted "
                        + instanceTimeout.toSeconds()
                        + " s after its last call"))
        .optional();
  }

  /** The comma-separated predecessors a restarted agent names, newest first (at most 8, each clipped). */
  static List<String> predecessors(String header) {
    if (header == null || header.isBlank()) {
      return List.of();
    }
    List<String> ids = new ArrayList<>();
    for (String part : header.split(",", 9)) {
      String s = part.strip();
      if (!s.isEmpty() && ids.size() < 8) {
        ids.add(clip(s));
      }
    }
    return ids;
  }

  private static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) : s;
  }

  /** How many instance UPDATEs ran since start (tests, diagnostics). */
  long instanceWrites() {
    return instanceWrites.get();
  }

  /** Forgets the process using this identity (it is stopping): another may take over at once. */
  public void releaseInstance(String workerId) {
    tx.run(() -> jdbc.sql("UPDATE worker SET instance_id = NULL WHERE id = ?").param(workerId).update());
  }
}
