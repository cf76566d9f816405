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
 * The only owner of the attempt and batch_result tables' SQL. An attempt is created RUNNING with its lease and
 * ends exactly once: its outcome changes only from RUNNING (bound as a parameter, never a literal).
 */
@Component
public class AttemptStore {
  private final JdbcTemplate jdbc;

  AttemptStore(JdbcTemplate jdbc) {
    this.jdbc = jdbc;
  }

  /** An attempt as fencing needs it. */
  public record Row(long id, long batchId, String workerId, AttemptOutcome outcome, String commit) {}

  /** A new RUNNING attempt, written with its lease. */
  public record NewAttempt(long batchId, long jobId, int number, String workerId, String token, String commit,
      String version) {}

  public void insertRunning(List<NewAttempt> attempts, Instant now) {
    if (attempts.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>(attempts.size());
    for (NewAttempt a : attempts) {
      rows.add(
          new Object[] {
            a.batchId, a.jobId, a.number, a.workerId, a.token, AttemptOutcome.RUNNING.name(), Times.db(now), a.commit,
            a.version
          });
    }
    jdbc.batchUpdate(
        """
        INSERT INTO attempt (batch_id, job_id, number, worker_id, lease_token, outcome, claimed_at, commit_sha, version)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows);
  }

  /** The attempts of the given lease tokens, by token; unknown tokens are absent. */
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

  public Row byToken(String token) {
    return byTokens(List.of(token)).get(token);
  }

  /** How one RUNNING attempt ended. Null fields leave what is recorded. */
  public record Ending(
      Long id,
      String token,
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
    /** An ending without reference data. */
    public Ending(
        Long id, String token, AttemptOutcome outcome, Integer exitCode, Instant startedAt, Instant finishedAt,
        String error, String logTail, Long resultBytes, String commit, String version) {
      this(id, token, outcome, exitCode, startedAt, finishedAt, error, logTail, resultBytes, commit, version, null);
    }
  }

  /**
   * Ends RUNNING attempts (by primary key when the caller knows it, else by lease token); an attempt that already
   * ended is left alone.
   */
  public void end(List<Ending> endings) {
    List<Object[]> byId = new ArrayList<>();
    List<Object[]> byToken = new ArrayList<>();
    for (Ending e : endings) {
      Object[] row = {
        e.outcome.name(), e.exitCode, Times.db(e.startedAt), Times.db(e.finishedAt), e.error, e.logTail,
        e.resultBytes, e.commit, e.version,
        e.data == null || e.data.position() == null
            ? null
            : e.data.position().substring(0, Math.min(e.data.position().length(),
                dev.nightshift.protocol.DataState.MAX_POSITION)),
        e.data == null ? null : e.data.lagSeconds(),
        e.id != null ? e.id : e.token, AttemptOutcome.RUNNING.name()
      };
      (e.id != null ? byId : byToken).add(row);
    }
    String update =
        """
        UPDATE attempt SET outcome = ?, exit_code = ?, started_at = COALESCE(?, started_at), finished_at = ?,
          error = ?, log_tail = COALESCE(?, log_tail), result_bytes = ?, commit_sha = COALESCE(?, commit_sha),
          version = COALESCE(?, version), data_position = COALESCE(?, data_position),
          data_lag_seconds = COALESCE(?, data_lag_seconds)
        WHERE %s = ? AND outcome = ?""";
    if (!byId.isEmpty()) {
      jdbc.batchUpdate(update.formatted("id"), byId);
    }
    if (!byToken.isEmpty()) {
      jdbc.batchUpdate(update.formatted("lease_token"), byToken);
    }
  }

  /** Ends the RUNNING attempts of these tokens as CANCELLED (their job was cancelled). */
  public void cancelRunning(List<String> tokens, Instant now) {
    if (tokens.isEmpty()) {
      return;
    }
    List<Object> args = new ArrayList<>();
    args.add(AttemptOutcome.CANCELLED.name());
    args.add(Times.db(now));
    args.add(AttemptOutcome.RUNNING.name());
    args.addAll(tokens);
    jdbc.update(
        "UPDATE attempt SET outcome = ?, finished_at = ?, error = 'the job was cancelled' WHERE outcome = ?"
            + " AND lease_token IN ("
            + marks(tokens.size())
            + ")",
        args.toArray());
  }

  /** An accepted result: exactly what the script wrote to stdout. */
  public record Result(long batchId, long jobId, int seq, long attemptId, String output) {}

  public void insertResults(List<Result> results) {
    if (results.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>(results.size());
    for (Result r : results) {
      rows.add(new Object[] {r.batchId, r.jobId, r.seq, r.attemptId, r.output});
    }
    jdbc.batchUpdate(
        "INSERT INTO batch_result (batch_id, job_id, seq, attempt_id, output) VALUES (?, ?, ?, ?, ?)", rows);
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
