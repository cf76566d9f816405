package dev.nightshift.server.batches;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ReportAnswer;
import dev.nightshift.protocol.ReportResponse;
import dev.nightshift.protocol.ProblemReasons;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.server.metrics.NightshiftMeters;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Transactions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;

/**
 * Everything that happens to a lease after the claim: completion and failure (recorded by the {@link BatchEngine}
 * in group transactions), renewal by heartbeat, release, expiry. Every write is fenced by the lease token: a report
 * whose token is not the batch's current lease changes nothing (409), an exact repeat of an accepted report is
 * acknowledged as DUPLICATE, and a result is accepted by a conditional update that only one writer can win. Lock
 * order everywhere: batch rows, then job rows in id order.
 */
@Service
public class LeaseService {
  private static final Logger log = LoggerFactory.getLogger(LeaseService.class);
  private static final int REAP_CHUNK = 200;

  private final Transactions tx;
  private final BatchEngine engine;
  private final BatchStore batches;
  private final AttemptStore attempts;
  private final JobCounters counters;
  private final JobSpecs specs;
  private final RetryPolicy retry;
  private final Clock clock;
  private final ApplicationEventPublisher events;
  private final NightshiftProperties properties;
  private final NightshiftMeters meters;

  LeaseService(
      Transactions tx,
      BatchEngine engine,
      BatchStore batches,
      AttemptStore attempts,
      JobCounters counters,
      JobSpecs specs,
      RetryPolicy retry,
      Clock clock,
      ApplicationEventPublisher events,
      NightshiftProperties properties,
      NightshiftMeters meters) {
    this.meters = meters;
    this.tx = tx;
    this.engine = engine;
    this.batches = batches;
    this.attempts = attempts;
    this.counters = counters;
    this.specs = specs;
    this.retry = retry;
    this.clock = clock;
    this.events = events;
    this.properties = properties;
  }

  // ---------------------------------------------------------------------------------------------- reports

  /** Records one successful run; a refusal is thrown as its HTTP problem (409, 403, 404, 400). */
  public ReportResponse complete(String workerId, CompleteRequest r) {
    return answer(engine.run(new BatchEngine.Request(workerId, null, 0, List.of(r), null)));
  }

  /** Records one unsuccessful run; a refusal is thrown as its HTTP problem (409, 403, 404, 400). */
  public ReportResponse fail(String workerId, FailRequest r) {
    return answer(engine.run(new BatchEngine.Request(workerId, null, 0, null, List.of(r))));
  }

  private static ReportResponse answer(BatchEngine.Outcome outcome) {
    ReportAnswer a = outcome.reports().get(0);
    ProblemException refusal =
        switch (a.status()) {
          case ACCEPTED, DUPLICATE -> null;
          case STALE -> new ProblemException(HttpStatus.CONFLICT, "Stale lease", sentence(a.detail()));
          case WRONG_COMMIT, CONFLICT -> ProblemException.conflict(sentence(a.detail()));
          case NOT_YOURS -> ProblemException.forbidden(sentence(a.detail()));
          case UNKNOWN_BATCH -> ProblemException.notFound("batch", a.batchId());
          case INVALID -> ProblemException.badRequest(a.detail());
          case RETRY -> new ProblemException(HttpStatus.SERVICE_UNAVAILABLE, "Try again", sentence(a.detail()));
        };
    if (refusal == null) {
      return new ReportResponse(a.status());
    }
    throw refusal.withReason(ProblemReasons.of(a.status())); // agents act on the reason, never on the text
  }

  private static String sentence(String detail) {
    String s = Character.toUpperCase(detail.charAt(0)) + detail.substring(1);
    return s.endsWith(".") ? s : s + ".";
  }

  /** Gives leases back at once (requeued without a failure); returns how many were still held. */
  public int release(String workerId, List<LeaseRef> leases, String reason) {
    String why = reason == null || reason.isBlank() ? "released by the agent" : reason;
    int released = 0;
    for (LeaseRef ref : leases) {
      if (ref == null || ref.leaseToken() == null) {
        continue;
      }
      boolean done =
          tx.inTransaction(
              () -> {
                BatchStore.Row b = batches.lock(List.of(ref.batchId())).get(ref.batchId());
                if (b == null
                    || b.state() != BatchState.LEASED
                    || !ref.leaseToken().equals(b.token())
                    || !workerId.equals(b.workerId())) {
                  return false;
                }
                end(List.of(new Ending(b, AttemptOutcome.RELEASED, why)), clock.instant());
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
    int released = 0;
    for (BatchStore.Held held : batches.leasedBy(workerId)) {
      if (endIfCurrent(held, AttemptOutcome.RELEASED, reason)) {
        released++;
      }
    }
    return released;
  }

  private boolean endIfCurrent(BatchStore.Held held, AttemptOutcome outcome, String why) {
    return tx.inTransaction(
        () -> {
          BatchStore.Row b = batches.lock(List.of(held.batchId())).get(held.batchId());
          if (b == null || b.state() != BatchState.LEASED || !held.token().equals(b.token())) {
            return false;
          }
          end(List.of(new Ending(b, outcome, why)), clock.instant());
          return true;
        });
  }

  /** A lease ending other than by a report: release, expiry, revocation. */
  private record Ending(BatchStore.Row batch, AttemptOutcome outcome, String error) {}

  /**
   * Ends leases other than by a report: records the attempt's outcome, then requeues the batch (at once for
   * releases, after a back-off for expiries) or buries it as DEAD when its failures reach the job's max attempts.
   * The caller holds the batch rows' locks.
   */
  private void end(List<Ending> endings, Instant now) {
    Map<Long, JobSpecs.Spec> jobSpecs = specs.of(endings.stream().map(e -> e.batch.jobId()).distinct().toList());
    Map<Long, JobCounters.Delta> deltas = new TreeMap<>(); // job id order: the lock order
    List<BatchStore.Ended> ended = new ArrayList<>();
    List<AttemptStore.Ended> attemptEndings = new ArrayList<>();
    boolean wake = false;
    for (Ending e : endings) {
      BatchStore.Row b = e.batch;
      JobSpecs.Spec spec = jobSpecs.get(b.jobId());
      int failures = b.failures() + (e.outcome.countsAsFailure() ? 1 : 0);
      BatchTransition t =
          e.outcome.countsAsFailure() && failures >= (spec == null ? 1 : spec.maxAttempts())
              ? BatchTransition.BURY
              : BatchTransition.REQUEUE;
      Instant notBefore = e.outcome.countsAsFailure() ? now.plus(retry.backoff(failures)) : now;
      ended.add(new BatchStore.Ended(b.id(), t, failures, notBefore));
      attemptEndings.add(
          new AttemptStore.Ended(b, e.outcome, null, null, now, truncate(e.error, 1000), null, null, null, null));
      deltas.merge(b.jobId(), t.delta(1, 0), JobCounters.Delta::plus);
      if (t == BatchTransition.BURY) {
        log.info("batch {} of job {} is DEAD after {} failed attempt(s): {}", b.id(), b.jobId(), failures, e.error);
      }
      wake |= t == BatchTransition.REQUEUE && !e.outcome.countsAsFailure();
    }
    attempts.insert(attemptEndings);
    batches.end(ended, now);
    counters.applyAll(deltas, false, now);
    if (wake) {
      events.publishEvent(new WorkAvailable("leases given back"));
    }
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
   * Like {@link #renew(String, List)} for an agent process that has used the identity since {@code instanceSince}
   * (null: unknown): a lease granted before that was granted to a process that is gone (a restart proves it), so
   * no claim answer can still be on its way to this one and the claim grace does not protect it. A restarted
   * agent's killed batches are therefore requeued at its first heartbeat, not a minute later.
   */
  public List<Instruction> renew(String workerId, List<LeaseRef> held, Instant instanceSince) {
    return renew(workerId, held, properties.lease().claimGrace(), instanceSince);
  }

  /**
   * Like {@link #renew(String, List)} with the given grace for unreported leases; a stopping agent's final
   * heartbeat uses zero: every lease it does not list is released at once.
   */
  public List<Instruction> renew(String workerId, List<LeaseRef> held, Duration grace) {
    return renew(workerId, held, grace, null);
  }

  private List<Instruction> renew(String workerId, List<LeaseRef> held, Duration grace, Instant instanceSince) {
    Instant now = clock.instant();
    List<LeaseRef> reported =
        held == null ? List.of() : held.stream().filter(r -> r != null && r.leaseToken() != null).toList();
    if (!reported.isEmpty()) {
      tx.run(
          () ->
              batches.renew(
                  workerId,
                  reported.stream().map(LeaseRef::leaseToken).toList(),
                  now.plus(properties.lease().duration())));
    }
    Map<String, BatchStore.Held> current = new HashMap<>();
    for (BatchStore.Held h : batches.leasedBy(workerId)) {
      current.put(h.token(), h);
    }
    List<Instruction> instructions = new ArrayList<>();
    Set<String> reportedTokens = new HashSet<>();
    List<String> gone = new ArrayList<>();
    for (LeaseRef ref : reported) {
      reportedTokens.add(ref.leaseToken());
      if (!current.containsKey(ref.leaseToken())) {
        gone.add(ref.leaseToken());
      }
    }
    if (!gone.isEmpty()) {
      Map<String, AttemptStore.Row> ended = attempts.byTokens(gone);
      for (LeaseRef ref : reported) {
        if (!gone.contains(ref.leaseToken())) {
          continue;
        }
        AttemptStore.Row a = ended.get(ref.leaseToken());
        String why =
            a == null || a.batchId() != ref.batchId()
                ? "unknown lease"
                : switch (a.outcome()) {
                  case CANCELLED -> "the job was cancelled";
                  case EXPIRED -> "the lease expired and the batch was requeued";
                  case SUCCEEDED -> "the batch already succeeded";
                  default -> "the lease ended as " + a.outcome();
                };
        instructions.add(Instruction.cancelLease(ref.batchId(), ref.leaseToken(), why));
      }
    }
    Instant graceEdge = now.minus(grace);
    for (BatchStore.Held h : current.values()) {
      boolean predecessors = instanceSince != null && h.leasedAt().isBefore(instanceSince);
      if (!reportedTokens.contains(h.token()) && (predecessors || !h.leasedAt().isAfter(graceEdge))) {
        endIfCurrent(
            h,
            AttemptOutcome.EXPIRED,
            grace.isZero()
                ? "the agent stopped without this lease"
                : predecessors
                    ? "the agent restarted; its new process does not hold this lease"
                    : "the agent's heartbeat no longer lists this lease (agent restarted?)");
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
      meters.leasesExpired(total);
    }
    return total;
  }

  private int reapSome() {
    Instant now = clock.instant();
    List<Ending> endings = new ArrayList<>();
    for (BatchStore.Expired e : batches.lockExpired(now, REAP_CHUNK)) {
      String why =
          e.deadline() != null && !e.expiredAt().isBefore(e.deadline())
              ? "the batch ran past its timeout and its lease could not be renewed further"
              : "lease expired at " + e.expiredAt() + ": no heartbeat from worker " + e.batch().workerId();
      endings.add(new Ending(e.batch(), AttemptOutcome.EXPIRED, why));
    }
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
