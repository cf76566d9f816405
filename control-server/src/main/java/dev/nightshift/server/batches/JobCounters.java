package dev.nightshift.server.batches;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.JobState;
import dev.nightshift.server.system.Times;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Keeps a job's per-state batch counters in step with its batches, in the caller's transaction, and finishes the
 * job when no batch is pending or leased. Callers lock batch rows before calling (lock order: batch rows, then job
 * rows in id order). Counter changes come from {@link BatchTransition#delta}; job states are bound, never literals.
 */
@Component
public class JobCounters {
  private final JdbcTemplate jdbc;

  JobCounters(JdbcTemplate jdbc) {
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

    /** {@code n} batches more (or fewer, when negative) in {@code state}. */
    public static Delta ofState(BatchState state, int n) {
      return switch (state) {
        case PENDING -> new Delta(n, 0, 0, 0, 0, 0);
        case LEASED -> new Delta(0, n, 0, 0, 0, 0);
        case SUCCEEDED -> new Delta(0, 0, n, 0, 0, 0);
        case DEAD -> new Delta(0, 0, 0, n, 0, 0);
        case CANCELLED -> new Delta(0, 0, 0, 0, n, 0);
      };
    }

    /** Whether batches left the unfinished states (pending, leased), so the job may have finished. */
    boolean mayFinish() {
      return pending + leased < 0;
    }
  }

  public void apply(long jobId, Delta d, Instant now) {
    applyAll(Map.of(jobId, d), false, now);
  }

  /**
   * Applies each job's delta (callers pass jobs in id order, holding their batch rows); {@code leased} also marks
   * QUEUED jobs RUNNING and records their start. Then finishes the jobs with no pending or leased batch left.
   */
  public void applyAll(Map<Long, Delta> deltas, boolean leased, Instant now) {
    List<Object[]> rows = new ArrayList<>();
    List<Object[]> finishing = new ArrayList<>();
    for (var e : deltas.entrySet()) {
      Delta d = e.getValue();
      if (d.equals(Delta.NONE)) {
        continue;
      }
      boolean started = leased && d.leased > 0;
      rows.add(
          new Object[] {
            d.pending, d.leased, d.succeeded, d.dead, d.cancelled, d.succeededItems, Times.db(now),
            started ? JobState.QUEUED.name() : "", JobState.RUNNING.name(), started, Times.db(now), e.getKey()
          });
      if (d.mayFinish()) {
        finishing.add(
            new Object[] {
              JobState.FAILED.name(), JobState.SUCCEEDED.name(), Times.db(now), e.getKey(), JobState.QUEUED.name(),
              JobState.RUNNING.name(), JobState.PAUSED.name()
            });
      }
    }
    if (!rows.isEmpty()) {
      jdbc.batchUpdate(
          """
          UPDATE job SET pending_count = pending_count + ?, leased_count = leased_count + ?,
            succeeded_count = succeeded_count + ?, dead_count = dead_count + ?,
            cancelled_count = cancelled_count + ?, succeeded_items = succeeded_items + ?, updated_at = ?,
            state = CASE WHEN state = ? THEN ? ELSE state END,
            started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END
          WHERE id = ?""",
          rows);
    }
    if (!finishing.isEmpty()) {
      jdbc.batchUpdate(
          """
          UPDATE job SET state = CASE WHEN dead_count > 0 THEN ? ELSE ? END, finished_at = ?
          WHERE id = ? AND pending_count = 0 AND leased_count = 0 AND state IN (?, ?, ?)""",
          finishing);
    }
  }

  /** Succeeded batches per job and code version ("versions seen"). */
  public record VersionCount(long jobId, String commit, String version, int batches, long items) {}

  public void recordVersions(List<VersionCount> counts) {
    if (counts.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>();
    for (VersionCount c : counts) {
      rows.add(
          new Object[] {
            c.jobId, c.commit, c.version == null ? "" : c.version, c.batches, c.items, c.batches, c.items
          });
    }
    jdbc.batchUpdate(
        """
        INSERT INTO job_version (job_id, commit_sha, version, batches, items) VALUES (?, ?, ?, ?, ?)
        ON DUPLICATE KEY UPDATE batches = batches + ?, items = items + ?""",
        rows);
  }

  /** Counts completed work per job and minute, for rates, ETAs and the throughput chart. */
  public void recordThroughput(Map<Long, long[]> batchesAndItemsByJob, Instant now) {
    if (batchesAndItemsByJob.isEmpty()) {
      return;
    }
    Object minute = Times.db(now.truncatedTo(ChronoUnit.MINUTES));
    List<Object[]> rows = new ArrayList<>();
    batchesAndItemsByJob.forEach(
        (job, n) -> rows.add(new Object[] {job, minute, n[0], n[1], n[0], n[1]}));
    jdbc.batchUpdate(
        """
        INSERT INTO throughput (job_id, minute, batches, items) VALUES (?, ?, ?, ?)
        ON DUPLICATE KEY UPDATE batches = batches + ?, items = items + ?""",
        rows);
  }
}
