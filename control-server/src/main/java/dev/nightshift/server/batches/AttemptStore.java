package dev.nightshift.server.batches;

import static dev.nightshift.server.batches.BatchStore.marks;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.server.system.Times;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The only owner of the attempt and batch_result tables' SQL. An attempt row is written once, when its lease ends
 * (reported, released, expired, cancelled); while it runs, the attempt is its batch row (state LEASED, with the lease
 * columns). The lease token is unique, so an attempt is recorded at most once.
 */
@Component
public class AttemptStore {
  private final JdbcTemplate jdbc;

  AttemptStore(JdbcTemplate jdbc) {
    this.jdbc = jdbc;
  }

  /** An ended attempt as fencing needs it (a report repeated after its lease ended). */
  public record Row(long id, long batchId, String workerId, AttemptOutcome outcome, String commit) {}

  /** The ended attempts of the given lease tokens, by token; unknown tokens and running leases are absent. */
  public Map<String, Row> byTokens(Collection<String> tokens) {
    Map<String, Row> rows = new HashMap<>();
    if (tokens.isEmpty()) {
      return rows;
    }
    List<String> distinct = tokens.stream().distinct().toList();
    jdbc.query(
        "SELECT id, batch_id, worker_id, outcome, commit_sha, lease_token FROM attempt WHERE lease_token IN ("
            + marks(distinct.size())
            + ")",
        (ResultSet rs) -> {
          rows.put(
              rs.getString(6),
              new Row(rs.getLong(1), rs.getLong(2), rs.getString(3), AttemptOutcome.valueOf(rs.getString(4)),
                  rs.getString(5)));
        },
        distinct.toArray());
    return rows;
  }

  /**
   * How one lease ended: the lease as its batch row held it (checked current under the row's lock by the caller),
   * and what the report (if any) said. Null commit and version fall back to the lease's.
   */
  public record Ended(
      BatchStore.Row lease,
      AttemptOutcome outcome,
      Integer exitCode,
      Instant startedAt,
      Instant finishedAt,
      String error,
      String logTail,
      Long resultBytes,
      String commit,
      String version,
      dev.nightshift.protocol.DataState data) {
    public Ended {
      if (outcome == AttemptOutcome.RUNNING) {
        throw new IllegalArgumentException("an attempt is written when it ends, never RUNNING");
      }
    }

    /** An ending without reference data (released, expired, cancelled: no report). */
    public Ended(
        BatchStore.Row lease, AttemptOutcome outcome, Integer exitCode, Instant startedAt, Instant finishedAt,
        String error, String logTail, Long resultBytes, String commit, String version) {
      this(lease, outcome, exitCode, startedAt, finishedAt, error, logTail, resultBytes, commit, version, null);
    }
  }

  /** Writes the attempts of ended leases, all in one batch. */
  public void insert(List<Ended> ended) {
    if (ended.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>(ended.size());
    for (Ended e : ended) {
      BatchStore.Row b = e.lease;
      rows.add(
          new Object[] {
            b.id(), b.jobId(), b.attempts(), b.workerId(), b.token(), e.outcome.name(),
            e.commit != null ? e.commit : b.leaseCommit(), e.version != null ? e.version : b.leaseVersion(),
            Times.db(b.leasedAt()), Times.db(e.startedAt), Times.db(e.finishedAt), e.exitCode, e.error, e.logTail,
            e.resultBytes,
            e.data == null || e.data.position() == null
                ? null
                : e.data.position().substring(0, Math.min(e.data.position().length(),
                    dev.nightshift.protocol.DataState.MAX_POSITION)),
            e.data == null ? null : e.data.lagSeconds()
          });
    }
    jdbc.batchUpdate(
        """
        INSERT INTO attempt (batch_id, job_id, number, worker_id, lease_token, outcome, commit_sha, version,
          claimed_at, started_at, finished_at, exit_code, error, log_tail, result_bytes, data_position,
          data_lag_seconds)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows);
  }

  /** An accepted result: exactly what the script wrote to stdout. */
  public record Result(long batchId, long jobId, int seq, String output) {}

  public void insertResults(List<Result> results) {
    if (results.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>(results.size());
    for (Result r : results) {
      rows.add(new Object[] {r.batchId, r.jobId, r.seq, r.output});
    }
    jdbc.batchUpdate(
        "INSERT INTO batch_result (batch_id, job_id, seq, output) VALUES (?, ?, ?, ?)", rows);
  }

  /** The accepted outputs of these batches, by batch id (to tell a repeated report from a different one). */
  public Map<Long, String> outputs(Collection<Long> batchIds) {
    Map<Long, String> outputs = new HashMap<>();
    if (batchIds.isEmpty()) {
      return outputs;
    }
    List<Long> ids = batchIds.stream().distinct().toList();
    jdbc.query(
        "SELECT batch_id, output FROM batch_result WHERE batch_id IN (" + marks(ids.size()) + ")",
        (ResultSet rs) -> {
          outputs.put(rs.getLong(1), rs.getString(2));
        },
        ids.toArray());
    return outputs;
  }
}
