package dev.nightshift.server.batches;

import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
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
  private final JobCounters counters;
  private final Clock clock;
  private final ApplicationEventPublisher events;

  BatchSweeps(
      JdbcTemplate template,
      Transactions tx,
      JobCounters counters,
      Clock clock,
      ApplicationEventPublisher events) {
    this.template = template;
    this.tx = tx;
    this.counters = counters;
    this.clock = clock;
    this.events = events;
  }

  private record Row(long id, String state, String token) {}

  /** Cancels the pending and leased batches of a (cancelled) job; running attempts end as CANCELLED. */
  public int cancelBatches(long jobId) {
    int total = 0;
    while (true) {
      int n = tx.inTransaction(() -> cancelChunk(jobId));
      total += n;
      if (n < CHUNK) {
        return total;
      }
    }
  }

  private int cancelChunk(long jobId) {
    Instant now = clock.instant();
    List<Row> rows =
        template.query(
            """
            SELECT id, state, lease_token FROM batch FORCE INDEX (ix_batch_claim)
            WHERE job_id = ? AND state IN ('PENDING', 'LEASED') ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED""",
            (rs, n) -> new Row(rs.getLong(1), rs.getString(2), rs.getString(3)),
            jobId,
            CHUNK);
    if (rows.isEmpty()) {
      return 0;
    }
    update(
        "UPDATE batch SET state = 'CANCELLED', finished_at = ?, lease_expires_at = NULL WHERE id IN (%s)",
        Times.db(now),
        rows.stream().map(Row::id).toList());
    List<Object> tokens = rows.stream().filter(r -> r.state.equals("LEASED")).map(r -> (Object) r.token).toList();
    if (!tokens.isEmpty()) {
      update(
          "UPDATE attempt SET outcome = 'CANCELLED', finished_at = ?, error = 'the job was cancelled'"
              + " WHERE outcome = 'RUNNING' AND lease_token IN (%s)",
          Times.db(now),
          tokens);
    }
    int leased = tokens.size();
    int pending = rows.size() - leased;
    counters.apply(jobId, new JobCounters.Delta(-pending, -leased, 0, 0, rows.size(), 0), now);
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
        template.query(
            """
            SELECT id FROM batch FORCE INDEX (ix_batch_claim)
            WHERE job_id = ? AND state = 'DEAD' ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED""",
            (rs, n) -> rs.getLong(1),
            jobId,
            CHUNK);
    if (ids.isEmpty()) {
      return 0;
    }
    update(
        "UPDATE batch SET state = 'PENDING', failures = 0, not_before = ?, finished_at = NULL WHERE id IN (%s)",
        Times.db(now),
        ids);
    counters.apply(jobId, new JobCounters.Delta(ids.size(), 0, 0, -ids.size(), 0, 0), now);
    return ids.size();
  }

  /** Finishes cancel sweeps that a crash or a busy row interrupted. */
  public int sweepCancelledJobs() {
    List<Long> jobs =
        template.queryForList(
            "SELECT id FROM job WHERE state = 'CANCELLED' AND pending_count + leased_count > 0", Long.class);
    int total = 0;
    for (Long id : jobs) {
      total += cancelBatches(id);
    }
    return total;
  }

  private void update(String sql, Object first, List<?> ids) {
    String marks = ids.stream().map(i -> "?").collect(Collectors.joining(","));
    List<Object> args = new ArrayList<>(ids.size() + 1);
    args.add(first);
    args.addAll(ids);
    template.update(sql.formatted(marks), args.toArray());
  }
}
