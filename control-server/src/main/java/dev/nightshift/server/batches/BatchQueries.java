package dev.nightshift.server.batches;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.BatchState;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/** Read side of batches and attempts, with keyset paging. */
@Component
public class BatchQueries {
  private static final String COLUMNS =
      "id, job_id, seq, state, item_count, range_start, range_end, attempts, failures, not_before, worker_id,"
          + " leased_at, lease_expires_at, finished_at";
  private final JdbcClient jdbc;

  BatchQueries(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /** A batch as the API shows it. */
  public record BatchView(
      long id,
      long jobId,
      int seq,
      BatchState state,
      int itemCount,
      Long rangeStart,
      Long rangeEnd,
      int attempts,
      int failures,
      Instant notBefore,
      String workerId,
      Instant leasedAt,
      Instant leaseExpiresAt,
      Instant finishedAt,
      List<AttemptView> attemptHistory) {}

  /**
   * One run of a batch. A running attempt (the batch's current lease) has no id yet: its row is written when the
   * lease ends.
   */
  public record AttemptView(
      Long id,
      int number,
      String workerId,
      AttemptOutcome outcome,
      String commit,
      String version,
      Instant claimedAt,
      Instant startedAt,
      Instant finishedAt,
      Integer exitCode,
      String error,
      Long resultBytes,
      String logTail,
      String dataPosition,
      Long dataLagSeconds) {}

  /** A page of batches in job order; {@code nextAfter} fetches the next page. */
  public record BatchPage(List<BatchView> items, Integer nextAfter) {}

  public BatchPage forJob(long jobId, BatchState state, Integer after, int limit) {
    List<BatchView> rows;
    if (state == null) {
      StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM batch WHERE job_id = ?");
      List<Object> args = new ArrayList<>();
      args.add(jobId);
      if (after != null) {
        sql.append(" AND seq > ?");
        args.add(after);
      }
      sql.append(" ORDER BY seq LIMIT ?");
      args.add(limit + 1);
      rows = jdbc.sql(sql.toString()).params(args).query((rs, n) -> view(rs, null)).list();
    } else {
      // One state: by (job_id, state, id), whose order is the job's (a job's batches are inserted in seq order), so
      // a page reads its own rows only; by seq the index on (job_id, seq) read every batch of the job before and
      // among the page's, of any state (68 ms for 51 rows of a 200,000-batch job; EngineQueryPlanTest).
      long afterId = after == null ? 0 : idAtOrBefore(jobId, after);
      rows = jdbc.sql(BY_STATE).params(jobId, state.name(), afterId, limit + 1).query((rs, n) -> view(rs, null)).list();
    }
    Integer next = null;
    if (rows.size() > limit) {
      rows = rows.subList(0, limit);
      next = rows.get(limit - 1).seq();
    }
    return new BatchPage(rows, next);
  }

  static final String BY_STATE =
      "SELECT " + COLUMNS + " FROM batch FORCE INDEX (ix_batch_claim) WHERE job_id = ? AND state = ? AND id > ?"
          + " ORDER BY id LIMIT ?";

  /** The id of the job's batch with the highest seq up to {@code seq}; 0 when there is none. */
  private long idAtOrBefore(long jobId, int seq) {
    return jdbc.sql("SELECT id FROM batch WHERE job_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1")
        .params(jobId, seq)
        .query(Long.class)
        .optional()
        .orElse(0L);
  }

  public BatchView get(long batchId) {
    List<AttemptView> attempts =
        new ArrayList<>(
            jdbc.sql(
                    """
                    SELECT id, number, worker_id, outcome, commit_sha, version, claimed_at, started_at, finished_at,
                      exit_code, error, result_bytes, log_tail, data_position, data_lag_seconds
                    FROM attempt WHERE batch_id = ? ORDER BY number""")
                .param(batchId)
                .query(
                    (rs, n) ->
                        new AttemptView(
                            rs.getLong(1),
                            rs.getInt(2),
                            rs.getString(3),
                            AttemptOutcome.valueOf(rs.getString(4)),
                            rs.getString(5),
                            rs.getString(6),
                            Times.instant(rs, "claimed_at"),
                            Times.instant(rs, "started_at"),
                            Times.instant(rs, "finished_at"),
                            rs.getObject(10, Integer.class),
                            rs.getString(11),
                            rs.getObject(12, Long.class),
                            rs.getString(13),
                            rs.getString(14),
                            rs.getObject(15, Long.class)))
                .list());
    BatchView batch =
        jdbc.sql("SELECT " + COLUMNS + ", lease_commit, lease_version FROM batch WHERE id = ?")
            .param(batchId)
            .query(
                (rs, n) -> {
                  if (BatchState.valueOf(rs.getString("state")) == BatchState.LEASED) {
                    attempts.add(
                        new AttemptView(
                            null,
                            rs.getInt("attempts"),
                            rs.getString("worker_id"),
                            AttemptOutcome.RUNNING,
                            rs.getString("lease_commit"),
                            rs.getString("lease_version"),
                            Times.instant(rs, "leased_at"),
                            null,
                            null,
                            null,
                            null,
                            null,
                            null,
                            null,
                            null));
                  }
                  return view(rs, attempts);
                })
            .optional()
            .orElseThrow(() -> ProblemException.notFound("batch", batchId));
    return batch;
  }

  private static BatchView view(ResultSet rs, List<AttemptView> attempts) throws SQLException {
    return new BatchView(
        rs.getLong("id"),
        rs.getLong("job_id"),
        rs.getInt("seq"),
        BatchState.valueOf(rs.getString("state")),
        rs.getInt("item_count"),
        rs.getObject("range_start", Long.class),
        rs.getObject("range_end", Long.class),
        rs.getInt("attempts"),
        rs.getInt("failures"),
        Times.instant(rs, "not_before"),
        rs.getString("worker_id"),
        Times.instant(rs, "leased_at"),
        Times.instant(rs, "lease_expires_at"),
        Times.instant(rs, "finished_at"),
        attempts);
  }
}
