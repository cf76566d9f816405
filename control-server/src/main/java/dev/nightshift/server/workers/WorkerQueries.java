package dev.nightshift.server.workers;

import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** Read side of workers: the server's view of each agent, with OFFLINE derived from heartbeat age. */
@Component
public class WorkerQueries {
  private static final String COLUMNS =
      "id, name, hostname, os, arch, cpus, memory_bytes, agent_version, labels, slots, free_slots, state,"
          + " state_reason, commit_sha, registered_at, last_heartbeat_at, revoked_at, drained_at, drained_by, data_state, data_checked_at,"
          + " approval_pending_at, approved_by, approved_at, agent_refused";
  private final JdbcClient jdbc;
  private final JsonMapper json;
  private final Clock clock;
  private final Duration offlineAfter;

  WorkerQueries(JdbcClient jdbc, JsonMapper json, Clock clock, NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.json = json;
    this.clock = clock;
    this.offlineAfter = properties.lease().offlineAfter();
  }

  /**
   * A worker as operators see it; {@code state} is the agent's report unless the server knows better.
   * {@code drainedAt}/{@code drainedBy} are set while an admin has drained it; {@code data} is its reference data
   * as its agent last reported it (null: the agent has no data source), {@code dataCheckedAt} when.
   */
  public record WorkerView(
      String id,
      String name,
      WorkerState state,
      String reason,
      String hostname,
      String os,
      String arch,
      Integer cpus,
      Long memoryBytes,
      String agentVersion,
      Map<String, String> labels,
      int slots,
      int freeSlots,
      String commit,
      Instant registeredAt,
      Instant lastHeartbeatAt,
      Long heartbeatAgeSeconds,
      List<RunningBatch> running,
      Instant drainedAt,
      String drainedBy,
      dev.nightshift.protocol.DataState data,
      Instant dataCheckedAt,
      /** Since when the worker awaits an admin's approval of its enrollment; null: approved or never needed. */
      Instant approvalPendingSince,
      String approvedBy,
      Instant approvedAt,
      /** The agent version this worker's launcher tried and rolled back (never offered to it again); null: none. */
      String agentRefused) {}

  public record RunningBatch(long batchId, long jobId, int attempt, Instant leasedAt, Instant leaseExpiresAt) {}

  public List<WorkerView> list() {
    return jdbc.sql("SELECT " + COLUMNS + " FROM worker ORDER BY name, id")
        .query((rs, n) -> view(rs, List.of()))
        .list();
  }

  public WorkerView get(String id) {
    List<RunningBatch> running =
        jdbc.sql(
                """
                SELECT id, job_id, attempts, leased_at, lease_expires_at FROM batch
                WHERE worker_id = ? AND state = 'LEASED' ORDER BY id""")
            .param(id)
            .query(
                (rs, n) ->
                    new RunningBatch(
                        rs.getLong(1),
                        rs.getLong(2),
                        rs.getInt(3),
                        Times.instant(rs, "leased_at"),
                        Times.instant(rs, "lease_expires_at")))
            .list();
    return jdbc.sql("SELECT " + COLUMNS + " FROM worker WHERE id = ?")
        .param(id)
        .query((rs, n) -> view(rs, running))
        .optional()
        .orElseThrow(() -> ProblemException.notFound("worker", id));
  }

  private WorkerView view(ResultSet rs, List<RunningBatch> running) throws SQLException {
    Instant now = clock.instant();
    Instant last = Times.instant(rs, "last_heartbeat_at");
    Instant revoked = Times.instant(rs, "revoked_at");
    WorkerState state = WorkerState.valueOf(rs.getString("state"));
    String reason = rs.getString("state_reason");
    Long age = last == null ? null : Math.max(0, Duration.between(last, now).toSeconds());
    if (revoked != null) {
      state = WorkerState.DISABLED;
      reason = "agent token revoked at " + revoked;
    } else if (last == null || Duration.between(last, now).compareTo(offlineAfter) > 0) {
      state = WorkerState.OFFLINE;
      reason = last == null ? "never sent a heartbeat" : "no heartbeat for " + age + " s";
    } else if (rs.getTimestamp("approval_pending_at") != null) {
      reason = "awaiting an admin's approval of its enrollment: claims nothing until approved";
    }
    return new WorkerView(
        rs.getString("id"),
        rs.getString("name"),
        state,
        reason,
        rs.getString("hostname"),
        rs.getString("os"),
        rs.getString("arch"),
        rs.getObject("cpus", Integer.class),
        rs.getObject("memory_bytes", Long.class),
        rs.getString("agent_version"),
        json.readValue(rs.getString("labels"), new TypeReference<Map<String, String>>() {}),
        rs.getInt("slots"),
        rs.getInt("free_slots"),
        rs.getString("commit_sha"),
        Times.instant(rs, "registered_at"),
        last,
        age,
        running,
        Times.instant(rs, "drained_at"),
        rs.getString("drained_by"),
        rs.getString("data_state") == null
            ? null
            : json.readValue(rs.getString("data_state"), dev.nightshift.protocol.DataState.class),
        Times.instant(rs, "data_checked_at"),
        Times.instant(rs, "approval_pending_at"),
        rs.getString("approved_by"),
        Times.instant(rs, "approved_at"),
        rs.getString("agent_refused"));
  }
}
