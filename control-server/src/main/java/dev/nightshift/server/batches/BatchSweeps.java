package dev.nightshift.server.batches;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.JobState;
import dev.nightshift.server.system.Transactions;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Moves many batches of one job at once (cancel, retry) in chunks of short transactions, so a job of a million
 * batches never holds one giant lock. The job's state changes first and is authoritative (claims check it under the
 * job lock); a sweep interrupted by a crash is finished by {@link #sweepCancelledJobs()}.
 */
@Component
public class BatchSweeps {
  private static final int CHUNK = 1000;
  private final JdbcTemplate template;
  private final Transactions tx;
  private final BatchStore batches;
  private final AttemptStore attempts;
  private final JobCounters counters;
  private final Clock clock;
  private final ApplicationEventPublisher events;

  BatchSweeps(
      JdbcTemplate template,
      Transactions tx,
      BatchStore batches,
      AttemptStore attempts,
      JobCounters counters,
      Clock clock,
      ApplicationEventPublisher events) {
    this.template = template;
    this.tx = tx;
    this.batches = batches;
    this.attempts = attempts;
    this.counters = counters;
    this.clock = clock;
    this.events = events;
  }

  /**
   * Cancels the pending, then the leased batches of a (cancelled) job, a chunk per transaction; running attempts end
   * as CANCELLED.
   */
  public int cancelBatches(long jobId) {
    int total = 0;
    for (BatchState state : List.of(BatchState.PENDING, BatchState.LEASED)) {
      while (true) {
        int n = tx.inTransaction(() -> cancelChunk(jobId, state));
        total += n;
        if (n < CHUNK) {
          break;
        }
      }
    }
    return total;
  }

  private int cancelChunk(long jobId, BatchState state) {
    Instant now = clock.instant();
    List<BatchStore.Row> rows = batches.lockOfJob(jobId, state, CHUNK);
    if (rows.isEmpty()) {
      return 0;
    }
    batches.cancel(rows.stream().map(BatchStore.Row::id).toList(), now);
    List<AttemptStore.Ended> cancelled =
        rows.stream()
            .filter(r -> r.state() == BatchState.LEASED)
            .map(r -> new AttemptStore.Ended(
                r, AttemptOutcome.CANCELLED, null, null, now, "the job was cancelled", null, null, null, null))
            .toList();
    attempts.insert(cancelled);
    int leased = cancelled.size();
    int pending = rows.size() - leased;
    counters.apply(
        jobId,
        BatchTransition.CANCEL_PENDING.delta(pending, 0).plus(BatchTransition.CANCEL_LEASED.delta(leased, 0)),
        now);
    return rows.size();
  }

  /** Puts the DEAD batches of a job back to PENDING with a fresh attempt budget. */
  public int retryDead(long jobId) {
    int total = 0;
    while (true) {
      int n = tx.inTransaction(() -> retryChunk(jobId));
      total += n;
      if (n < CHUNK) {
        break;
      }
    }
    if (total > 0) {
      events.publishEvent(new WorkAvailable("dead batches retried"));
    }
    return total;
  }

  private int retryChunk(long jobId) {
    Instant now = clock.instant();
    List<Long> ids =
        batches.lockOfJob(jobId, BatchState.DEAD, CHUNK).stream().map(BatchStore.Row::id).toList();
    if (ids.isEmpty()) {
      return 0;
    }
    batches.revive(ids, now);
    counters.apply(jobId, BatchTransition.REVIVE.delta(ids.size(), 0), now);
    return ids.size();
  }

  /** Finishes cancel sweeps that a crash or a busy row interrupted. */
  public int sweepCancelledJobs() {
    List<Long> jobs =
        template.queryForList(
            "SELECT id FROM job WHERE state = ? AND pending_count + leased_count > 0",
            Long.class,
            JobState.CANCELLED.name());
    int total = 0;
    for (Long id : jobs) {
      total += cancelBatches(id);
    }
    return total;
  }
}
