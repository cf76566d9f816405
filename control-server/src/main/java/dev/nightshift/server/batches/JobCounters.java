package dev.nightshift.server.batches;

import dev.nightshift.server.system.Times;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Keeps a job's per-state batch counters in step with its batches, in the caller's transaction, and finishes the
 * job when no batch is pending or leased. Callers lock batch rows before calling (lock order: batch, then job).
 */
@Component
public class JobCounters {
  private final JdbcClient jdbc;

  JobCounters(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /** Changes of a job's counters; fields are deltas. */
  public record Delta(int pending, int leased, int succeeded, int dead, int cancelled, long succeededItems) {
    public static final Delta NONE = new Delta(0, 0, 0, 0, 0, 0);

    public Delta plus(Delta o) {
      return new Delta(
          pending + o.pending,
          leased + o.leased,
          succeeded + o.succeeded,
          dead + o.dead,
          cancelled + o.cancelled,
          succeededItems + o.succeededItems);
    }
  }

  public void apply(long jobId, Delta d, Instant now) {
    if (d.equals(Delta.NONE)) {
      return;
    }
    jdbc.sql(
            """
            UPDATE job SET pending_count = pending_count + ?, leased_count = leased_count + ?,
              succeeded_count = succeeded_count + ?, dead_count = dead_count + ?,
              cancelled_count = cancelled_count + ?, succeeded_items = succeeded_items + ?, updated_at = ?
            WHERE id = ?""")
        .params(d.pending, d.leased, d.succeeded, d.dead, d.cancelled, d.succeededItems, Times.db(now), jobId)
        .update();
    if (d.pending < 0 || d.leased < 0) {
      jdbc.sql(
              """
              UPDATE job SET state = CASE WHEN dead_count > 0 THEN 'FAILED' ELSE 'SUCCEEDED' END, finished_at = ?
              WHERE id = ? AND pending_count = 0 AND leased_count = 0 AND state IN ('QUEUED', 'RUNNING', 'PAUSED')""")
          .params(Times.db(now), jobId)
          .update();
    }
  }

  /** Counts succeeded batches per job and code version ("versions seen"). */
  public void recordVersion(long jobId, String commit, String version, long items) {
    jdbc.sql(
            """
            INSERT INTO job_version (job_id, commit_sha, version, batches, items) VALUES (?, ?, ?, 1, ?)
            ON DUPLICATE KEY UPDATE batches = batches + 1, items = items + ?""")
        .params(jobId, commit, version == null ? "" : version, items, items)
        .update();
  }

  /** Counts completed work per job and minute, for rates, ETAs and the throughput chart. */
  public void recordThroughput(long jobId, int batches, long items, Instant now) {
    jdbc.sql(
            """
            INSERT INTO throughput (job_id, minute, batches, items) VALUES (?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE batches = batches + ?, items = items + ?""")
        .params(jobId, Times.db(now.truncatedTo(ChronoUnit.MINUTES)), batches, items, batches, items)
        .update();
  }
}
