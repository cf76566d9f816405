package dev.nightshift.server.batches;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ReportResponse;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * Everything that happens to a lease after the claim: renewal by heartbeat, completion, failure, release, expiry.
 * Every write is fenced by the lease token: a report whose token is not the batch's current lease changes nothing
 * (409), an exact repeat of an accepted report is acknowledged as DUPLICATE, and a result is accepted by a
 * conditional update that only one writer can win. Lock order everywhere: batch rows, then the job row.
 */
@Service
public class LeaseService {
  private static final Logger log = LoggerFactory.getLogger(LeaseService.class);
  private static final int REAP_CHUNK = 200;

  private final JdbcClient jdbc;
  private final JdbcTemplate template;
  private final Transactions tx;
  private final JobCounters counters;
  private final RetryPolicy retry;
  private final Clock clock;
  private final ApplicationEventPublisher events;
  private final NightshiftProperties properties;

  LeaseService(
      JdbcClient jdbc,
      JdbcTemplate template,
      Transactions tx,
      JobCounters counters,
      RetryPolicy retry,
      Clock clock,
      ApplicationEventPublisher events,
      NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.template = template;
    this.tx = tx;
    this.counters = counters;
    this.retry = retry;
    this.clock = clock;
    this.events = events;
    this.properties = properties;
  }

  private record BatchRow(long id, long jobId, int seq, String state, String token, int itemCount, int failures) {}

  private record AttemptRow(long id, long batchId, String workerId, AttemptOutcome outcome, String commit) {}

  /** How one lease ends, other than success. */
  private record Ending(
      BatchRow batch,
      AttemptOutcome outcome,
      Integer exitCode,
      Instant startedAt,
      String error,
      String logTail,
      String commit,
      String version) {}

  // ---------------------------------------------------------------------------------------------- reports

  public ReportResponse complete(String workerId, CompleteRequest r) {
    return tx.inTransaction(
        () -> {
          Instant now = clock.instant();
          Checked checked = check(workerId, r.batchId(), r.leaseToken(), AttemptOutcome.SUCCEEDED, r.commit());
          if (checked.duplicate) {
            return new ReportResponse(ReportStatus.DUPLICATE);
          }
          BatchRow b = checked.batch;
          String output = r.output() == null ? "" : r.output();
          int updated =
              jdbc.sql(
                      """
                      UPDATE batch SET state = 'SUCCEEDED', finished_at = ?, lease_expires_at = NULL
                      WHERE id = ? AND state = 'LEASED' AND lease_token = ?""")
                  .params(Times.db(now), b.id, r.leaseToken())
                  .update();
          if (updated != 1) {
            throw stale(b.id, "its lease ended while the report was processed");
          }
          jdbc.sql(
                  """
                  UPDATE attempt SET outcome = 'SUCCEEDED', exit_code = ?, started_at = ?, finished_at = ?,
                    log_tail = ?, result_bytes = ?, commit_sha = COALESCE(?, commit_sha), version = ?
                  WHERE id = ?""")
              .params(
                  r.exitCode(),
                  Times.db(r.startedAt()),
                  Times.db(r.finishedAt() == null ? now : r.finishedAt()),
                  tail(r.logTail()),
                  (long) output.length(),
                  r.commit(),
                  r.version(),
                  checked.attempt.id)
              .update();
          jdbc.sql("INSERT INTO batch_result (batch_id, job_id, seq, attempt_id, output) VALUES (?, ?, ?, ?, ?)")
              .params(b.id, b.jobId, b.seq, checked.attempt.id, output)
              .update();
          counters.apply(b.jobId, new JobCounters.Delta(0, -1, 1, 0, 0, b.itemCount), now);
          counters.recordThroughput(b.jobId, 1, b.itemCount, now);
          String commit = r.commit() != null ? r.commit() : checked.attempt.commit;
          if (commit != null) {
            counters.recordVersion(b.jobId, commit, r.version(), b.itemCount);
          }
          return new ReportResponse(ReportStatus.ACCEPTED);
        });
  }

  public ReportResponse fail(String workerId, FailRequest r) {
    AttemptOutcome outcome = r.outcome() == null ? AttemptOutcome.FAILED : r.outcome();
    if (!(outcome == AttemptOutcome.FAILED
        || outcome == AttemptOutcome.TIMED_OUT
        || outcome == AttemptOutcome.VACATED)) {
      throw ProblemException.badRequest("outcome must be FAILED, TIMED_OUT or VACATED, not " + outcome);
    }
    return tx.inTransaction(
        () -> {
          Instant now = clock.instant();
          Checked checked = check(workerId, r.batchId(), r.leaseToken(), outcome, r.commit());
          if (checked.duplicate) {
            return new ReportResponse(ReportStatus.DUPLICATE);
          }
          end(
              List.of(
                  new Ending(
                      checked.batch,
                      outcome,
                      r.exitCode(),
                      r.startedAt(),
                      r.error(),
                      r.logTail(),
                      r.commit(),
                      r.version())),
              now);
          return new ReportResponse(ReportStatus.ACCEPTED);
        });
  }

  /** Gives leases back at once (requeued without a failure); returns how many were still held. */
  public int release(String workerId, List<LeaseRef> leases, String reason) {
    int released = 0;
    for (LeaseRef ref : leases) {
      boolean done =
          tx.inTransaction(
              () -> {
                BatchRow b = lockBatch(ref.batchId());
                AttemptRow a = attempt(ref.leaseToken());
                if (b == null
                    || a == null
                    || a.batchId != b.id
                    || !a.workerId.equals(workerId)
                    || a.outcome != AttemptOutcome.RUNNING
                    || !"LEASED".equals(b.state)
                    || !ref.leaseToken().equals(b.token)) {
                  return false;
                }
                String why = reason == null || reason.isBlank() ? "released by the agent" : reason;
                end(
                    List.of(new Ending(b, AttemptOutcome.RELEASED, null, null, why, null, null, null)),
                    clock.instant());
                return true;
              });
      if (done) {
        released++;
      }
    }
    return released;
  }

  /**
   * Ends every lease the worker holds (it was revoked): attempts end as RELEASED with the reason and the batches
   * are requeued at once, without counting a failure. Returns how many leases were ended.
   */
  public int releaseAll(String workerId, String reason) {
    Map<Long, String> held = new TreeMap<>();
    jdbc.sql("SELECT id, lease_token FROM batch WHERE worker_id = ? AND state = 'LEASED'")
        .param(workerId)
        .query(rs -> {
          held.put(rs.getLong(1), rs.getString(2));
        });
    int released = 0;
    for (var lease : held.entrySet()) {
      boolean done =
          tx.inTransaction(
              () -> {
                BatchRow b = lockBatch(lease.getKey());
                if (b == null || !"LEASED".equals(b.state) || !lease.getValue().equals(b.token)) {
                  return false;
                }
                end(
                    List.of(new Ending(b, AttemptOutcome.RELEASED, null, null, reason, null, null, null)),
                    clock.instant());
                return true;
              });
      if (done) {
        released++;
      }
    }
    return released;
  }

  private record Checked(BatchRow batch, AttemptRow attempt, boolean duplicate) {}

  /** Fencing: the token must be the batch's current lease and this worker's, else nothing changes. */
  private Checked check(
      String workerId, long batchId, String token, AttemptOutcome reported, String reportedCommit) {
    if (token == null || token.isBlank()) {
      throw ProblemException.badRequest("leaseToken is required");
    }
    BatchRow b = lockBatch(batchId);
    if (b == null) {
      throw ProblemException.notFound("batch", batchId);
    }
    AttemptRow a = attempt(token);
    if (a == null || a.batchId != b.id) {
      throw ProblemException.conflict(
          "The lease token is not a lease of batch " + batchId + "; the report was refused and changed nothing.");
    }
    if (!a.workerId.equals(workerId)) {
      throw ProblemException.forbidden(
          "Batch " + batchId + "'s lease belongs to another worker: an agent may report only its own leases.");
    }
    if (a.outcome == reported) {
      return new Checked(b, a, true);
    }
    if (a.outcome != AttemptOutcome.RUNNING || !"LEASED".equals(b.state) || !token.equals(b.token)) {
      throw stale(batchId, "this lease already ended as " + a.outcome);
    }
    if (a.commit != null && !a.commit.equals(reportedCommit)) {
      throw ProblemException.conflict(
          "Batch "
              + batchId
              + " was leased to run commit "
              + a.commit
              + " but the report names "
              + (reportedCommit == null ? "no commit" : reportedCommit)
              + "; a result from other code is never accepted.");
    }
    return new Checked(b, a, false);
  }

  private static ProblemException stale(long batchId, String why) {
    return new ProblemException(
        org.springframework.http.HttpStatus.CONFLICT,
        "Stale lease",
        "The lease of batch "
            + batchId
            + " is no longer current ("
            + why
            + "); the batch was requeued, cancelled or finished elsewhere, so this report changed nothing.");
  }

  private BatchRow lockBatch(long batchId) {
    return jdbc.sql(
            "SELECT id, job_id, seq, state, lease_token, item_count, failures FROM batch WHERE id = ? FOR UPDATE")
        .param(batchId)
        .query((rs, n) -> batchRow(rs))
        .optional()
        .orElse(null);
  }

  /** Reads the first seven columns: id, job_id, seq, state, lease_token, item_count, failures. */
  private static BatchRow batchRow(java.sql.ResultSet rs) throws java.sql.SQLException {
    return new BatchRow(
        rs.getLong(1), rs.getLong(2), rs.getInt(3), rs.getString(4), rs.getString(5), rs.getInt(6), rs.getInt(7));
  }

  private AttemptRow attempt(String token) {
    return jdbc.sql("SELECT id, batch_id, worker_id, outcome, commit_sha FROM attempt WHERE lease_token = ?")
        .param(token)
        .query(
            (rs, n) ->
                new AttemptRow(
                    rs.getLong(1),
                    rs.getLong(2),
                    rs.getString(3),
                    AttemptOutcome.valueOf(rs.getString(4)),
                    rs.getString(5)))
        .optional()
        .orElse(null);
  }

  /**
   * Ends leases other than by success: records the attempt's outcome, then requeues the batch (at once for releases
   * and vacates, after a back-off for failures) or buries it as DEAD when its failures reach the job's max attempts.
   * The caller holds the batch rows' locks.
   */
  private void end(List<Ending> endings, Instant now) {
    Set<Long> jobIds = endings.stream().map(e -> e.batch.jobId).collect(Collectors.toSet());
    Map<Long, Integer> maxAttempts = maxAttempts(jobIds);
    Map<Long, JobCounters.Delta> deltas = new TreeMap<>(); // job id order: no lock-order cycles between callers
    boolean wake = false;
    for (Ending e : endings) {
      BatchRow b = e.batch;
      jdbc.sql(
              """
              UPDATE attempt SET outcome = ?, exit_code = ?, started_at = COALESCE(?, started_at), finished_at = ?,
                error = ?, log_tail = COALESCE(?, log_tail), commit_sha = COALESCE(?, commit_sha),
                version = COALESCE(?, version)
              WHERE lease_token = ? AND outcome = 'RUNNING'""")
          .params(
              e.outcome.name(),
              e.exitCode,
              Times.db(e.startedAt),
              Times.db(now),
              truncate(e.error, 1000),
              tail(e.logTail),
              e.commit,
              e.version,
              b.token)
          .update();
      int failures = b.failures + (e.outcome.countsAsFailure() ? 1 : 0);
      JobCounters.Delta delta;
      if (e.outcome.countsAsFailure() && failures >= maxAttempts.getOrDefault(b.jobId, 1)) {
        jdbc.sql(
                """
                UPDATE batch SET state = 'DEAD', failures = ?, lease_token = NULL, lease_expires_at = NULL,
                  lease_deadline = NULL, finished_at = ? WHERE id = ?""")
            .params(failures, Times.db(now), b.id)
            .update();
        delta = new JobCounters.Delta(0, -1, 0, 1, 0, 0);
        log.info("batch {} of job {} is DEAD after {} failed attempt(s): {}", b.id, b.jobId, failures, e.error);
      } else {
        Instant notBefore = e.outcome.countsAsFailure() ? now.plus(retry.backoff(failures)) : now;
        jdbc.sql(
                """
                UPDATE batch SET state = 'PENDING', failures = ?, not_before = ?, worker_id = NULL,
                  lease_token = NULL, lease_expires_at = NULL, lease_deadline = NULL WHERE id = ?""")
            .params(failures, Times.db(notBefore), b.id)
            .update();
        delta = new JobCounters.Delta(1, -1, 0, 0, 0, 0);
        wake |= !e.outcome.countsAsFailure();
      }
      deltas.merge(b.jobId, delta, JobCounters.Delta::plus);
    }
    deltas.forEach((jobId, delta) -> counters.apply(jobId, delta, now));
    if (wake) {
      events.publishEvent(new WorkAvailable("leases given back"));
    }
  }

  private Map<Long, Integer> maxAttempts(Set<Long> jobIds) {
    Map<Long, Integer> result = new HashMap<>();
    for (Long id : jobIds) {
      jdbc.sql("SELECT max_attempts FROM job WHERE id = ?")
          .param(id)
          .query(Integer.class)
          .optional()
          .ifPresent(v -> result.put(id, v));
    }
    return result;
  }

  private String tail(String log) {
    if (log == null) {
      return null;
    }
    int max = (int) properties.limits().logTail().toBytes();
    return log.length() <= max ? log : log.substring(log.length() - max);
  }

  private static String truncate(String text, int max) {
    return text == null || text.length() <= max ? text : text.substring(0, max - 1) + "…";
  }

  // ---------------------------------------------------------------------------------------------- heartbeat

  /**
   * Renews exactly the leases the agent reports holding, in one statement (never past a batch's deadline).
   * Returns instructions to cancel reported leases that are no longer current, and releases this worker's leases
   * that the agent no longer reports (it restarted or lost them) once they are older than the claim grace.
   */
  public List<Instruction> renew(String workerId, List<LeaseRef> held) {
    return renew(workerId, held, properties.lease().claimGrace());
  }

  /**
   * Like {@link #renew(String, List)} with the given grace for unreported leases; a stopping agent's final
   * heartbeat uses zero: every lease it does not list is released at once.
   */
  public List<Instruction> renew(String workerId, List<LeaseRef> held, Duration grace) {
    Instant now = clock.instant();
    List<LeaseRef> reported = held == null ? List.of() : held.stream().filter(Objects::nonNull).toList();
    if (!reported.isEmpty()) {
      String marks = reported.stream().map(r -> "?").collect(Collectors.joining(","));
      List<Object> args = new ArrayList<>();
      args.add(Times.db(now.plus(properties.lease().duration())));
      args.add(workerId);
      reported.forEach(r -> args.add(r.leaseToken()));
      template.update(
          "UPDATE batch SET lease_expires_at = LEAST(?, lease_deadline) WHERE worker_id = ? AND state = 'LEASED'"
              + " AND lease_token IN ("
              + marks
              + ")",
          args.toArray());
    }
    Map<String, Instant> current = new HashMap<>();
    Map<String, Long> currentBatch = new HashMap<>();
    jdbc.sql("SELECT id, lease_token, leased_at FROM batch WHERE worker_id = ? AND state = 'LEASED'")
        .param(workerId)
        .query(
            rs -> {
              current.put(rs.getString(2), Times.instant(rs, "leased_at"));
              currentBatch.put(rs.getString(2), rs.getLong(1));
            });
    List<Instruction> instructions = new ArrayList<>();
    Set<String> reportedTokens = new HashSet<>();
    for (LeaseRef ref : reported) {
      reportedTokens.add(ref.leaseToken());
      if (!current.containsKey(ref.leaseToken())) {
        AttemptRow a = attempt(ref.leaseToken());
        String why =
            a == null
                ? "unknown lease"
                : switch (a.outcome) {
                  case CANCELLED -> "the job was cancelled";
                  case EXPIRED -> "the lease expired and the batch was requeued";
                  case SUCCEEDED -> "the batch already succeeded";
                  default -> "the lease ended as " + a.outcome;
                };
        instructions.add(Instruction.cancelLease(ref.batchId(), ref.leaseToken(), why));
      }
    }
    Instant graceEdge = now.minus(grace);
    for (var entry : current.entrySet()) {
      if (!reportedTokens.contains(entry.getKey()) && !entry.getValue().isAfter(graceEdge)) {
        long batchId = currentBatch.get(entry.getKey());
        tx.run(
            () -> {
              BatchRow b = lockBatch(batchId);
              if (b != null && "LEASED".equals(b.state) && entry.getKey().equals(b.token)) {
                end(
                    List.of(
                        new Ending(
                            b,
                            AttemptOutcome.EXPIRED,
                            null,
                            null,
                            grace.isZero()
                                ? "the agent stopped without this lease"
                                : "the agent's heartbeat no longer lists this lease (agent restarted?)",
                            null,
                            null,
                            null)),
                    clock.instant());
              }
            });
      }
    }
    return instructions;
  }

  // ---------------------------------------------------------------------------------------------- reaper

  /** Requeues (or buries) every batch whose lease expired. Callable directly; also runs on a schedule. */
  public int reapExpiredLeases() {
    int total = 0;
    while (true) {
      int reaped = tx.inTransaction(this::reapSome);
      total += reaped;
      if (reaped < REAP_CHUNK) {
        break;
      }
    }
    if (total > 0) {
      log.info("reaped {} expired lease(s)", total);
    }
    return total;
  }

  private int reapSome() {
    Instant now = clock.instant();
    List<Ending> endings =
        template.query(
            """
            SELECT id, job_id, seq, state, lease_token, item_count, failures, worker_id, lease_expires_at,
              lease_deadline
            FROM batch FORCE INDEX (ix_batch_lease)
            WHERE state = 'LEASED' AND lease_expires_at < ?
            ORDER BY lease_expires_at LIMIT ? FOR UPDATE SKIP LOCKED""",
            (rs, n) -> {
              BatchRow b = batchRow(rs);
              Instant expired = Times.instant(rs, "lease_expires_at");
              Instant deadline = Times.instant(rs, "lease_deadline");
              String why =
                  deadline != null && !expired.isBefore(deadline)
                      ? "the batch ran past its timeout and its lease could not be renewed further"
                      : "lease expired at " + expired + ": no heartbeat from worker " + rs.getString(8);
              return new Ending(b, AttemptOutcome.EXPIRED, null, null, why, null, null, null);
            },
            Times.db(now),
            REAP_CHUNK);
    if (!endings.isEmpty()) {
      end(endings, now);
    }
    return endings.size();
  }

  /** The claim grace, exposed for tests that move the clock past it. */
  public Duration claimGrace() {
    return properties.lease().claimGrace();
  }
}
