package dev.nightshift.server.batches;

import static dev.nightshift.protocol.BatchState.DEAD;
import static dev.nightshift.protocol.BatchState.LEASED;
import static dev.nightshift.protocol.BatchState.PENDING;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.server.system.Times;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The only owner of the batch table's SQL. Every state change is one of {@link BatchTransition}, with the states
 * bound as parameters (no state literals in SQL). Rows are locked in id order; picks use {@code SKIP LOCKED}
 * through an index whose order is the {@code ORDER BY}, so InnoDB locks only the rows returned.
 */
@Component
public class BatchStore {
  private final JdbcTemplate jdbc;

  BatchStore(JdbcTemplate jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * A batch row as reports, expiries and releases need it; while LEASED it is also the running attempt (number
   * {@code attempts}, leased at, commit and version of the lease).
   */
  public record Row(
      long id,
      long jobId,
      int seq,
      BatchState state,
      String token,
      String workerId,
      int itemCount,
      int failures,
      int attempts,
      Instant leasedAt,
      String leaseCommit,
      String leaseVersion) {}

  /**
   * A pending batch picked for a lease; {@code attempt} is the number the new lease will have, {@code leasedAt} when
   * its previous lease began (kept to withdraw the new one).
   */
  public record Picked(
      long id, int seq, int itemCount, Long rangeStart, Long rangeEnd, int attempt, Instant leasedAt) {}

  private static final String ROW_COLUMNS =
      "id, job_id, seq, state, lease_token, worker_id, item_count, failures, attempts, leased_at, lease_commit,"
          + " lease_version";

  private static Row row(ResultSet rs) throws SQLException {
    return new Row(
        rs.getLong(1),
        rs.getLong(2),
        rs.getInt(3),
        BatchState.valueOf(rs.getString(4)),
        rs.getString(5),
        rs.getString(6),
        rs.getInt(7),
        rs.getInt(8),
        rs.getInt(9),
        Times.instant(rs, "leased_at"),
        rs.getString(11),
        rs.getString(12));
  }

  /** The claim's pick (job, state, not_before, limit): in id order, straight from {@code ix_batch_claim}. */
  static final String PICK_PENDING =
      """
      SELECT id, seq, item_count, range_start, range_end, attempts, leased_at FROM batch FORCE INDEX (ix_batch_claim)
      WHERE job_id = ? AND state = ? AND not_before <= ?
      ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED""";

  /** Pending batches of a job whose back-off has passed, oldest first, skipping rows others hold. */
  public List<Picked> pickPending(long jobId, Instant now, int limit) {
    return jdbc.query(
        PICK_PENDING,
        (rs, n) ->
            new Picked(
                rs.getLong(1),
                rs.getInt(2),
                rs.getInt(3),
                rs.getObject(4, Long.class),
                rs.getObject(5, Long.class),
                rs.getInt(6) + 1,
                Times.instant(rs, "leased_at")),
        jobId,
        PENDING.name(),
        Times.db(now),
        limit);
  }

  /** A lease to write: {@link BatchTransition#LEASE}, with the commit and version it runs. */
  public record NewLease(
      long id, String workerId, String token, int attempt, Instant deadline, String commit, String version) {}

  public void lease(List<NewLease> leases, Instant now, Instant expires) {
    if (leases.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>(leases.size());
    for (NewLease l : leases) {
      rows.add(
          new Object[] {
            LEASED.name(), l.workerId, l.token, Times.db(now), Times.db(expires), Times.db(l.deadline), l.attempt,
            l.commit, l.version, l.id
          });
    }
    jdbc.batchUpdate(
        """
        UPDATE batch SET state = ?, worker_id = ?, lease_token = ?, leased_at = ?, lease_expires_at = ?,
          lease_deadline = ?, attempts = ?, lease_commit = ?, lease_version = ? WHERE id = ?""",
        rows);
  }

  /**
   * Undoes {@link #lease} for picked rows this transaction still holds (their job could not take them after all):
   * pending again exactly as they were picked. Not a transition: no lease happened, no counter moves.
   */
  public void withdraw(List<Picked> picked) {
    if (picked.isEmpty()) {
      return;
    }
    List<Object[]> rows = new ArrayList<>(picked.size());
    for (Picked p : picked) {
      rows.add(new Object[] {PENDING.name(), Times.db(p.leasedAt), p.attempt - 1, p.id, LEASED.name()});
    }
    jdbc.batchUpdate(
        """
        UPDATE batch SET state = ?, worker_id = NULL, lease_token = NULL, leased_at = ?, lease_expires_at = NULL,
          lease_deadline = NULL, attempts = ?, lease_commit = NULL, lease_version = NULL WHERE id = ? AND state = ?""",
        rows);
  }

  /** Locks the given batches in id order (waiting for other holders) and returns them by id. */
  public Map<Long, Row> lock(Collection<Long> ids) {
    Map<Long, Row> rows = new LinkedHashMap<>();
    if (ids.isEmpty()) {
      return rows;
    }
    List<Long> sorted = ids.stream().distinct().sorted().toList();
    jdbc.query(
        "SELECT " + ROW_COLUMNS + " FROM batch WHERE id IN (" + marks(sorted.size()) + ") ORDER BY id FOR UPDATE",
        (ResultSet rs) -> {
          Row r = row(rs);
          rows.put(r.id, r);
        },
        sorted.toArray());
    return rows;
  }

  /** {@link BatchTransition#SUCCEED} for batches whose lease this transaction checked under lock. */
  public void succeed(List<Long> ids, Instant now) {
    if (ids.isEmpty()) {
      return;
    }
    List<Object> args = new ArrayList<>();
    args.add(BatchState.SUCCEEDED.name());
    args.add(Times.db(now));
    args.addAll(ids);
    args.add(LEASED.name());
    jdbc.update(
        "UPDATE batch SET state = ?, finished_at = ?, lease_expires_at = NULL WHERE id IN ("
            + marks(ids.size())
            + ") AND state = ?",
        args.toArray());
  }

  /** An ended lease: requeued at {@code notBefore} ({@link BatchTransition#REQUEUE}) or buried. */
  public record Ended(long id, BatchTransition transition, int failures, Instant notBefore) {}

  public void end(List<Ended> ended, Instant now) {
    List<Object[]> requeued = new ArrayList<>();
    List<Object[]> buried = new ArrayList<>();
    for (Ended e : ended) {
      if (e.transition == BatchTransition.REQUEUE) {
        requeued.add(new Object[] {PENDING.name(), e.failures, Times.db(e.notBefore), e.id});
      } else if (e.transition == BatchTransition.BURY) {
        buried.add(new Object[] {DEAD.name(), e.failures, Times.db(now), e.id});
      } else {
        throw new IllegalArgumentException("a lease does not end by " + e.transition);
      }
    }
    if (!requeued.isEmpty()) {
      jdbc.batchUpdate(
          """
          UPDATE batch SET state = ?, failures = ?, not_before = ?, worker_id = NULL, lease_token = NULL,
            lease_expires_at = NULL, lease_deadline = NULL WHERE id = ?""",
          requeued);
    }
    if (!buried.isEmpty()) {
      jdbc.batchUpdate(
          """
          UPDATE batch SET state = ?, failures = ?, lease_token = NULL, lease_expires_at = NULL,
            lease_deadline = NULL, finished_at = ? WHERE id = ?""",
          buried);
    }
  }

  /**
   * Extends the listed leases of a worker (never past their deadline). The rows are found without locks, then
   * updated by primary key in id order, like every other lock taker: scanning the worker index under locks would
   * take them in another order and deadlock with the engine.
   */
  public void renew(String workerId, List<String> tokens, Instant expires) {
    if (tokens.isEmpty()) {
      return;
    }
    List<Object> args = new ArrayList<>();
    args.add(workerId);
    args.add(LEASED.name());
    args.addAll(tokens);
    List<Long> ids =
        jdbc.queryForList(
            "SELECT id FROM batch WHERE worker_id = ? AND state = ? AND lease_token IN ("
                + marks(tokens.size())
                + ") ORDER BY id",
            Long.class,
            args.toArray());
    if (ids.isEmpty()) {
      return;
    }
    List<Object> update = new ArrayList<>();
    update.add(Times.db(expires));
    update.addAll(ids);
    update.addAll(args);
    jdbc.update(
        "UPDATE batch SET lease_expires_at = LEAST(?, lease_deadline) WHERE id IN ("
            + marks(ids.size())
            + ") AND worker_id = ? AND state = ? AND lease_token IN ("
            + marks(tokens.size())
            + ")",
        update.toArray());
  }

  /** A current lease of a worker: batch id and when it was leased, by token. */
  public record Held(long batchId, String token, Instant leasedAt) {}

  public List<Held> leasedBy(String workerId) {
    return jdbc.query(
        "SELECT id, lease_token, leased_at FROM batch WHERE worker_id = ? AND state = ?",
        (rs, n) -> new Held(rs.getLong(1), rs.getString(2), Times.instant(rs, "leased_at")),
        workerId,
        LEASED.name());
  }

  /** An expired lease, locked for the reaper. */
  public record Expired(Row batch, Instant expiredAt, Instant deadline) {}

  public List<Expired> lockExpired(Instant now, int limit) {
    return jdbc.query(
        "SELECT "
            + ROW_COLUMNS
            + """
            , lease_expires_at, lease_deadline FROM batch FORCE INDEX (ix_batch_lease)
            WHERE state = ? AND lease_expires_at < ?
            ORDER BY lease_expires_at LIMIT ? FOR UPDATE SKIP LOCKED""",
        (rs, n) -> new Expired(row(rs), Times.instant(rs, "lease_expires_at"), Times.instant(rs, "lease_deadline")),
        LEASED.name(),
        Times.db(now),
        limit);
  }

  /**
   * Locks up to {@code limit} batches of a job in {@code state} (skipping rows others hold), in id order. One state
   * at a time: with two, the index could not give id order, so MariaDB read, sorted and locked every such row of
   * the job for every chunk (EngineQueryPlanTest).
   */
  public List<Row> lockOfJob(long jobId, BatchState state, int limit) {
    return jdbc.query(LOCK_OF_JOB, (rs, n) -> row(rs), jobId, state.name(), limit);
  }

  static final String LOCK_OF_JOB =
      "SELECT " + ROW_COLUMNS + " FROM batch FORCE INDEX (ix_batch_claim) WHERE job_id = ? AND state = ?"
          + " ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED";

  /** {@link BatchTransition#CANCEL_PENDING} and {@link BatchTransition#CANCEL_LEASED} for locked rows. */
  public void cancel(List<Long> ids, Instant now) {
    if (ids.isEmpty()) {
      return;
    }
    List<Object> args = new ArrayList<>();
    args.add(BatchState.CANCELLED.name());
    args.add(Times.db(now));
    args.addAll(ids);
    jdbc.update(
        "UPDATE batch SET state = ?, finished_at = ?, lease_expires_at = NULL WHERE id IN ("
            + marks(ids.size())
            + ")",
        args.toArray());
  }

  /** {@link BatchTransition#REVIVE} for locked dead rows: pending now, a fresh attempt budget. */
  public void revive(List<Long> ids, Instant now) {
    if (ids.isEmpty()) {
      return;
    }
    List<Object> args = new ArrayList<>();
    args.add(PENDING.name());
    args.add(Times.db(now));
    args.addAll(ids);
    jdbc.update(
        "UPDATE batch SET state = ?, failures = 0, not_before = ?, finished_at = NULL WHERE id IN ("
            + marks(ids.size())
            + ")",
        args.toArray());
  }

  static String marks(int n) {
    return java.util.stream.IntStream.range(0, n).mapToObj(i -> "?").collect(Collectors.joining(","));
  }
}
