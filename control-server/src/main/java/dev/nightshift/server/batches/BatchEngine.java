package dev.nightshift.server.batches;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.BatchInput;
import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.JobState;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.ReportAnswer;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.server.metrics.NightshiftMeters;
import dev.nightshift.server.security.Tokens;
import dev.nightshift.server.system.DatabaseOutage;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Transactions;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Records reports and grants claims in group transactions. Agents' requests (each: the reports of finished batches,
 * and how many batches the agent will take) queue here; an engine thread ({@code nightshift.engine.threads}, 2 by
 * default: while one group waits for its commit the next one is already picking) takes every request waiting and
 * handles them all in one short READ COMMITTED transaction: one statement per kind of change for the
 * whole group, one commit (one log flush) for all. Under load the groups grow by themselves (requests pile up while
 * a group commits), so the statements and flushes per batch fall as the load rises.
 *
 * <p>Lock order, in this and every other transaction of the server: reported batch rows first (in id order,
 * waiting), then job rows (in id order, all in one statement), then only {@code SKIP LOCKED} picks of pending batch
 * rows (which never wait), then the per-job version and throughput rows. A job's counters move once per group, in
 * the same transaction as the batches they count, so they are exact after any crash.
 *
 * <p>Every report is fenced by its lease token and checked on its own: a refused report gets its own answer and
 * never fails the others. A group that fails for another reason (a broken row) is retried one request at a time, so
 * one bad request cannot starve the rest; a group that fails because the database is unreachable fails as a whole
 * at once (503 to every caller), and the threads go on with the next group.
 */
@Component
public class BatchEngine implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(BatchEngine.class);
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final int MAX_GROUP = 512;
  private static final int CANDIDATE_JOBS = 200;
  static final int MAX_SLOTS = 256;
  private static final int MAX_VERSION = 200;
  private static final int MAX_COMMIT = 64;
  private static final int MAX_ERROR = 1000;
  private static final Instant EARLIEST = Instant.parse("1970-01-02T00:00:00Z");
  private static final Instant LATEST = Instant.parse("9999-12-30T00:00:00Z");

  private final JdbcTemplate jdbc;
  private final Transactions tx;
  private final BatchStore batches;
  private final AttemptStore attempts;
  private final JobCounters counters;
  private final JobSpecs specs;
  private final CodeResolver code;
  private final RetryPolicy retry;
  private final Clock clock;
  private final JsonMapper json;
  private final ApplicationEventPublisher events;
  private final NightshiftProperties properties;
  private final NightshiftMeters meters;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private volatile boolean running;
  private final List<Thread> threads = new ArrayList<>();
  private final int threadCount;
  private final java.util.concurrent.atomic.AtomicLong groups = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong requests = new java.util.concurrent.atomic.AtomicLong();
  /** Fair share's tie-break: when this instance last planned a slot for each job (a sequence number). */
  private final Map<Long, Long> served = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong servedSeq = new java.util.concurrent.atomic.AtomicLong();
  /**
   * Workers whose claim is in a group an engine thread is handling. A worker's claims are never in two groups at
   * once (a later one waits for the next group), so the slot check of one group sees every lease the worker holds
   * and a worker never holds more leases than its slots (on one server instance), without making one group wait
   * for another's commit.
   */
  private final java.util.Set<String> claiming = java.util.concurrent.ConcurrentHashMap.newKeySet();

  BatchEngine(
      JdbcTemplate jdbc,
      Transactions tx,
      BatchStore batches,
      AttemptStore attempts,
      JobCounters counters,
      JobSpecs specs,
      CodeResolver code,
      RetryPolicy retry,
      Clock clock,
      JsonMapper json,
      ApplicationEventPublisher events,
      NightshiftProperties properties,
      NightshiftMeters meters,
      @org.springframework.beans.factory.annotation.Value("${nightshift.engine.threads:2}") int threadCount) {
    this.threadCount = Math.max(1, threadCount);
    this.jdbc = jdbc;
    this.tx = tx;
    this.batches = batches;
    this.attempts = attempts;
    this.counters = counters;
    this.specs = specs;
    this.code = code;
    this.retry = retry;
    this.clock = clock;
    this.json = json;
    this.events = events;
    this.properties = properties;
    this.meters = meters;
  }

  /**
   * One agent's request: the reports it carries and how many batches it will take, with the worker's labels and
   * reference data (only jobs whose labels it has and whose {@link Freshness} its data meets are leased to it).
   */
  public record Request(
      String workerId,
      Map<String, String> labels,
      int freeSlots,
      List<CompleteRequest> completed,
      List<FailRequest> failed,
      dev.nightshift.protocol.DataState data) {
    public Request(
        String workerId, Map<String, String> labels, int freeSlots, List<CompleteRequest> completed,
        List<FailRequest> failed) {
      this(workerId, labels, freeSlots, completed, failed, null);
    }

    public Request {
      labels = labels == null ? Map.of() : labels;
      completed = completed == null ? List.of() : completed.stream().filter(Objects::nonNull).toList();
      failed = failed == null ? List.of() : failed.stream().filter(Objects::nonNull).toList();
      freeSlots = Math.max(0, Math.min(freeSlots, MAX_SLOTS));
    }

    /** The same request asking for {@code n} batches (everything else kept, the reference data too). */
    Request withFreeSlots(int n) {
      return new Request(workerId, labels, n, completed, failed, data);
    }

    public static Request claim(String workerId, Map<String, String> labels, int freeSlots) {
      return new Request(workerId, labels, freeSlots, null, null);
    }
  }

  /** What became of a request: one answer per report (completions first, in order), and the leases granted. */
  public record Outcome(List<ReportAnswer> reports, List<Lease> leases) {}

  /**
   * A queued request; {@code queuedAt} ({@link System#nanoTime()}) measures the dispatch latency; {@code seen}, the
   * candidate jobs its caller (the claim dispatcher) has just read, or null.
   */
  private record Pending(Request request, CompletableFuture<Outcome> result, long queuedAt, Seen seen) {
    Pending(Request request, CompletableFuture<Outcome> result) {
      this(request, result, System.nanoTime(), null);
    }

    Pending withRequest(Request r) {
      return new Pending(r, result, queuedAt, seen);
    }
  }

  /** Candidate jobs as read at {@code readAt} ({@link System#nanoTime()}). */
  private record Seen(List<Candidate> candidates, long readAt) {}

  /** How old a caller's candidate read may be for a group to plan with it instead of reading them again. */
  private static final long SEEN_FRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** Queues a request for the next group. */
  public CompletableFuture<Outcome> submit(Request request) {
    CompletableFuture<Outcome> result = new CompletableFuture<>();
    if (!running) {
      // Before start or after stop (tests, shutdown): handle it on the caller's thread.
      handle(List.of(new Pending(request, result)));
      return result;
    }
    queue.add(new Pending(request, result));
    return result;
  }

  /** Submits and waits; exceptions of the group (a database outage) are rethrown as they are. */
  public Outcome run(Request request) {
    return await(submit(request));
  }

  /** Submits all at once (one group when the engine is free) and waits for each. */
  public List<Outcome> runAll(List<Request> requests) {
    return runAll(requests, null, 0);
  }

  /**
   * As {@link #runAll(List)}, for a caller that has just read the {@link #candidates()} ({@code readAt}: {@link
   * System#nanoTime()}): a group of only these requests plans with them instead of reading them again (they are
   * read without locks either way; every pick is checked under the job's lock). Spares the claim dispatcher's
   * groups, which answer parked claims when work arrives, one statement.
   */
  public List<Outcome> runAll(List<Request> requests, List<Candidate> candidates, long readAt) {
    List<CompletableFuture<Outcome>> futures = new ArrayList<>(requests.size());
    if (running) {
      Seen seen = candidates == null ? null : new Seen(candidates, readAt);
      List<Pending> pending = new ArrayList<>(requests.size());
      long now = System.nanoTime();
      for (Request r : requests) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        futures.add(f);
        pending.add(new Pending(r, f, now, seen));
      }
      queue.addAll(pending);
    } else {
      requests.forEach(r -> futures.add(submit(r)));
    }
    return futures.stream().map(BatchEngine::await).toList();
  }

  static Outcome await(CompletableFuture<Outcome> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the engine recorded the request", e);
    } catch (ExecutionException | CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  // ------------------------------------------------------------------------------------------- the thread

  private void loop() {
    List<Pending> group = new ArrayList<>();
    List<Pending> deferred = new ArrayList<>();
    java.util.Set<String> mine = new java.util.HashSet<>();
    while (running || !queue.isEmpty() || !deferred.isEmpty()) {
      try {
        List<Pending> taken = new ArrayList<>(deferred);
        deferred.clear();
        Pending first = taken.isEmpty() ? queue.poll(200, TimeUnit.MILLISECONDS) : queue.poll();
        if (first != null) {
          taken.add(first);
        }
        if (taken.isEmpty()) {
          continue;
        }
        queue.drainTo(taken, Math.max(0, MAX_GROUP - taken.size()));
        group.clear();
        mine.clear();
        for (Pending p : taken) {
          String worker = p.request.workerId;
          if (p.request.freeSlots == 0 || mine.contains(worker) || claiming.add(worker)) {
            if (p.request.freeSlots > 0) {
              mine.add(worker);
            }
            group.add(p);
          } else {
            deferred.add(p); // the other thread's group has this worker's claim: the next group takes it
          }
        }
        if (group.isEmpty()) {
          Thread.sleep(1);
          continue;
        }
        try {
          handle(group);
        } finally {
          claiming.removeAll(mine);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (Throwable t) {
        log.error("engine step failed", t);
        group.forEach(p -> p.result.completeExceptionally(t));
      }
    }
    deferred.forEach(p -> p.result.completeExceptionally(new IllegalStateException("the server is stopping")));
    for (Pending p; (p = queue.poll()) != null; ) {
      p.result.completeExceptionally(new IllegalStateException("the server is stopping"));
    }
  }

  private void handle(List<Pending> group) {
    groups.incrementAndGet();
    requests.addAndGet(group.size());
    try {
      GroupResult result =
          tx.inTransaction(
              () -> {
                GroupResult r = group(group);
                if (r.wake) {
                  // in the group's transaction: the other instances' signal rides on its commit, and parked
                  // claims here are woken after it
                  events.publishEvent(new WorkAvailable("leases given back"));
                }
                return r;
              });
      for (int i = 0; i < group.size(); i++) {
        group.get(i).result.complete(result.outcomes.get(i));
      }
      measure(group, result.outcomes);
    } catch (RuntimeException e) {
      if (group.size() == 1 || DatabaseOutage.isCause(e)) {
        // The database is unreachable: every request of the group fails the same way, at once (its callers answer
        // 503 and agents send the same reports again); one by one, each would wait for the pool's timeout again.
        group.forEach(p -> p.result.completeExceptionally(e));
        return;
      }
      log.warn("a group of {} requests failed ({}); handling them one by one", group.size(), e.toString());
      for (Pending p : group) {
        handle(List.of(p));
      }
    }
  }

  /** Dispatch latency and reports by answer; a request's answers list its completions first, then its fails. */
  private void measure(List<Pending> group, List<Outcome> outcomes) {
    long now = System.nanoTime();
    for (int i = 0; i < group.size(); i++) {
      Pending p = group.get(i);
      meters.dispatched(now - p.queuedAt);
      List<ReportAnswer> answers = outcomes.get(i).reports();
      int completed = p.request.completed.size();
      for (int j = 0; j < answers.size(); j++) {
        meters.reported(
            answers.get(j).status(),
            j < completed ? AttemptOutcome.SUCCEEDED : failOutcome(p.request.failed.get(j - completed)));
      }
    }
  }

  // ------------------------------------------------------------------------------------------- one group

  private record GroupResult(List<Outcome> outcomes, boolean wake) {}

  /** One report as the group sees it. */
  private static final class Report {
    final int request;
    final String workerId;
    final CompleteRequest complete;
    final FailRequest fail;
    ReportAnswer answer;

    Report(int request, String workerId, CompleteRequest complete, FailRequest fail) {
      this.request = request;
      this.workerId = workerId;
      this.complete = complete;
      this.fail = fail;
    }

    long batchId() {
      return complete != null ? complete.batchId() : fail.batchId();
    }

    String token() {
      return complete != null ? complete.leaseToken() : fail.leaseToken();
    }

    String commit() {
      return complete != null ? complete.commit() : fail.commit();
    }

    AttemptOutcome outcome() {
      return complete != null ? AttemptOutcome.SUCCEEDED : failOutcome(fail);
    }

    void answer(ReportStatus status, String detail) {
      answer = new ReportAnswer(batchId(), token(), status, detail);
    }
  }

  static AttemptOutcome failOutcome(FailRequest f) {
    return f.outcome() == null ? AttemptOutcome.FAILED : f.outcome();
  }

  private GroupResult group(List<Pending> group) {
    Instant now = clock.instant();
    List<Report> reports = new ArrayList<>();
    for (int i = 0; i < group.size(); i++) {
      Request r = group.get(i).request;
      for (CompleteRequest c : r.completed) {
        reports.add(new Report(i, r.workerId, c, null));
      }
      for (FailRequest f : r.failed) {
        reports.add(new Report(i, r.workerId, null, f));
      }
    }
    Map<Long, JobCounters.Delta> deltas = new TreeMap<>();
    Recorded recorded = recordReports(reports, deltas, now);
    List<List<Lease>> leases = grantClaims(group, deltas, now);
    counters.applyAll(deltas, true, now);
    counters.recordVersions(recorded.versions);
    counters.recordThroughput(recorded.throughput, now);
    checkWritten(leases, recorded.ended);
    List<Outcome> outcomes = new ArrayList<>(group.size());
    List<List<ReportAnswer>> answers = new ArrayList<>(group.size());
    for (int i = 0; i < group.size(); i++) {
      answers.add(new ArrayList<>());
    }
    for (Report r : reports) {
      answers.get(r.request).add(r.answer);
    }
    for (int i = 0; i < group.size(); i++) {
      outcomes.add(new Outcome(answers.get(i), leases.get(i)));
    }
    return new GroupResult(outcomes, recorded.wake);
  }

  /**
   * The last statement before the commit: every lease this group grants is on its batch row, and every report it
   * accepted has its attempt row, in this very transaction. On a Galera cluster a group twice answered its claims
   * with leases that were never on their rows while its counter changes committed (GaleraIT, two of three CI runs on
   * 2026-12-03: two agents ran the same batches, the job's leased count never came back to zero, the job hung). Whatever the cause (a brute-force
   * abort whose error was lost, the statements after it running in a new transaction), a group whose own writes are
   * not all there must not commit: the exception rolls it back and {@link Transactions} runs it again.
   */
  private void checkWritten(List<List<Lease>> granted, List<String> endedTokens) {
    List<Lease> leases = granted.stream().flatMap(List::stream).toList();
    List<String> leaseTokens = leases.stream().map(Lease::leaseToken).toList();
    if (leaseTokens.isEmpty() && endedTokens.isEmpty()) {
      return;
    }
    List<Object> args = new ArrayList<>();
    leases.forEach(l -> args.add(l.batchId()));
    if (!leases.isEmpty()) {
      args.add(BatchState.LEASED.name());
    }
    args.addAll(leaseTokens);
    args.addAll(endedTokens);
    int[] found =
        jdbc.query(
            writtenCheckSql(leases.size(), endedTokens.size()),
            (ResultSet rs) -> {
              rs.next();
              return new int[] {rs.getInt(1), rs.getInt(2)};
            },
            args.toArray());
    if (found[0] != leaseTokens.size() || found[1] != endedTokens.size()) {
      log.warn("a group's writes are not all in its transaction ({} of {} leases, {} of {} attempts): rolled back"
          + " and tried again", found[0], leaseTokens.size(), found[1], endedTokens.size());
      throw new org.springframework.dao.CannotAcquireLockException(
          "the group's own writes are missing from its transaction (" + found[0] + " of " + leaseTokens.size()
              + " leases, " + found[1] + " of " + endedTokens.size() + " attempts)");
    }
  }

  /**
   * The check of {@link #checkWritten}: how many of {@code leases} batches (their ids, then LEASED, then their lease
   * tokens) carry their lease, and how many of {@code ended} lease tokens have their attempt row. The batch rows
   * are found by primary key: the batch table has no index on lease_token, and the one on state would read every
   * leased batch of the grid for every group (EngineQueryPlanTest).
   */
  static String writtenCheckSql(int leases, int ended) {
    String leased = leases == 0 ? "0"
        : "(SELECT COUNT(*) FROM batch WHERE id IN (" + BatchStore.marks(leases) + ") AND state = ?"
            + " AND lease_token IN (" + BatchStore.marks(leases) + "))";
    String written = ended == 0 ? "0"
        : "(SELECT COUNT(*) FROM attempt WHERE lease_token IN (" + BatchStore.marks(ended) + "))";
    return "SELECT " + leased + ", " + written;
  }

  // ------------------------------------------------------------------------------------------- reports

  /**
   * What recording the reports left for after the job rows are locked, and whether batches became claimable at
   * once (vacated runs).
   */
  private record Recorded(
      boolean wake, List<JobCounters.VersionCount> versions, Map<Long, long[]> throughput, List<String> ended) {}

  /** Checks and records every report. */
  private Recorded recordReports(List<Report> reports, Map<Long, JobCounters.Delta> deltas, Instant now) {
    List<Report> valid = new ArrayList<>();
    for (Report r : reports) {
      String problem = invalid(r);
      if (problem != null) {
        r.answer(ReportStatus.INVALID, problem);
      } else {
        valid.add(r);
      }
    }
    if (valid.isEmpty()) {
      return new Recorded(false, List.of(), Map.of(), List.of());
    }
    Map<Long, BatchStore.Row> rows = batches.lock(valid.stream().map(Report::batchId).toList());
    // A report of a batch's current lease needs nothing more. Others (repeats after the lease ended, stale or
    // forged tokens: rare) are checked against the attempt their lease ended as, and a repeated completion against
    // the accepted output.
    List<String> ended =
        valid.stream().filter(r -> !current(r, rows.get(r.batchId()))).map(Report::token).toList();
    Map<String, AttemptStore.Row> known = attempts.byTokens(ended);
    Map<Long, String> acceptedOutputs =
        attempts.outputs(
            valid.stream()
                .filter(r -> r.complete != null)
                .map(r -> known.get(r.token()))
                .filter(a -> a != null && a.outcome() == AttemptOutcome.SUCCEEDED)
                .map(AttemptStore.Row::batchId)
                .toList());
    Map<Long, JobSpecs.Spec> jobSpecs =
        specs.of(rows.values().stream().map(BatchStore.Row::jobId).distinct().toList());

    // What this group has done so far, so that repeats inside one group see the first one's effect.
    Map<Long, BatchState> stateNow = new HashMap<>();
    Map<String, AttemptOutcome> outcomeNow = new HashMap<>();
    List<Long> succeeded = new ArrayList<>();
    List<BatchStore.Ended> requeuedOrBuried = new ArrayList<>();
    List<AttemptStore.Ended> endings = new ArrayList<>();
    List<AttemptStore.Result> results = new ArrayList<>();
    Map<Long, long[]> throughput = new TreeMap<>();
    Map<List<Object>, JobCounters.VersionCount> versions = new LinkedHashMap<>();
    boolean wake = false;
    for (Report r : valid) {
      BatchStore.Row b = rows.get(r.batchId());
      AttemptStore.Row a = current(r, b) ? running(b) : known.get(r.token());
      if (!fenced(r, b, a, stateNow, outcomeNow, acceptedOutputs)) {
        continue;
      }
      AttemptOutcome outcome = r.outcome();
      outcomeNow.put(r.token(), outcome);
      String commit = r.commit() != null ? r.commit() : a.commit();
      if (r.complete != null) {
        CompleteRequest c = r.complete;
        String output = c.output() == null ? "" : c.output();
        stateNow.put(b.id(), BatchState.SUCCEEDED);
        acceptedOutputs.put(b.id(), output);
        succeeded.add(b.id());
        endings.add(
            new AttemptStore.Ended(
                b, outcome, c.exitCode(), c.startedAt(), c.finishedAt() == null ? now : c.finishedAt(), null,
                tail(c.logTail()), (long) output.length(), c.commit(), c.version(), c.data()));
        results.add(new AttemptStore.Result(b.id(), b.jobId(), b.seq(), output));
        deltas.merge(b.jobId(), BatchTransition.SUCCEED.delta(1, b.itemCount()), JobCounters.Delta::plus);
        throughput.merge(b.jobId(), new long[] {1, b.itemCount()}, (x, y) -> new long[] {x[0] + y[0], x[1] + y[1]});
        if (commit != null) {
          versions.merge(
              List.of(b.jobId(), commit),
              new JobCounters.VersionCount(b.jobId(), commit, c.version(), 1, b.itemCount()),
              (x, y) -> new JobCounters.VersionCount(x.jobId(), x.commit(), x.version(), x.batches() + 1,
                  x.items() + y.items()));
        }
      } else {
        FailRequest f = r.fail;
        JobSpecs.Spec spec = jobSpecs.get(b.jobId());
        boolean refused = outcome == AttemptOutcome.REFUSED; // another trusted agent would refuse it too
        int failures = b.failures() + (outcome.countsAsFailure() || refused ? 1 : 0);
        BatchTransition t =
            refused || outcome.countsAsFailure() && failures >= (spec == null ? 1 : spec.maxAttempts())
                ? BatchTransition.BURY
                : BatchTransition.REQUEUE;
        Instant notBefore = outcome.countsAsFailure() ? now.plus(retry.backoff(failures)) : now;
        requeuedOrBuried.add(new BatchStore.Ended(b.id(), t, failures, notBefore));
        stateNow.put(b.id(), t.to);
        endings.add(
            new AttemptStore.Ended(
                b, outcome, f.exitCode(), f.startedAt(), f.finishedAt() == null ? now : f.finishedAt(),
                truncate(f.error(), MAX_ERROR), tail(f.logTail()), null, f.commit(), f.version(), f.data()));
        deltas.merge(b.jobId(), t.delta(1, 0), JobCounters.Delta::plus);
        wake |= t == BatchTransition.REQUEUE && !outcome.countsAsFailure();
        if (refused) {
          log.warn("batch {} of job {} is DEAD: worker {} refused to run it: {}", b.id(), b.jobId(), r.workerId,
              dev.nightshift.server.system.Text.printable(f.error()));
        } else if (t == BatchTransition.BURY) {
          log.info("batch {} of job {} is DEAD after {} failed attempt(s): {}", b.id(), b.jobId(), failures,
              f.error());
        }
      }
      r.answer(ReportStatus.ACCEPTED, null);
    }
    batches.succeed(succeeded, now);
    batches.end(requeuedOrBuried, now);
    attempts.insert(endings);
    attempts.insertResults(results);
    // version and throughput rows are written after the job rows (see the class comment)
    return new Recorded(
        wake, new ArrayList<>(versions.values()), throughput,
        endings.stream().map(e -> e.lease().token()).toList());
  }

  /** Whether the report names its batch's current lease (the batch row as locked, before this group's changes). */
  private static boolean current(Report r, BatchStore.Row b) {
    return b != null && b.state() == BatchState.LEASED && r.token().equals(b.token());
  }

  /** The running attempt a current lease is: its batch row. */
  private static AttemptStore.Row running(BatchStore.Row b) {
    return new AttemptStore.Row(0, b.id(), b.workerId(), AttemptOutcome.RUNNING, b.leaseCommit());
  }

  /**
   * Fencing: the token must be the batch's current lease and this worker's, and name the lease's commit. Answers
   * the report and returns false when it changes nothing.
   */
  private static boolean fenced(
      Report r,
      BatchStore.Row b,
      AttemptStore.Row a,
      Map<Long, BatchState> stateNow,
      Map<String, AttemptOutcome> outcomeNow,
      Map<Long, String> acceptedOutputs) {
    long batchId = r.batchId();
    if (b == null) {
      r.answer(ReportStatus.UNKNOWN_BATCH, "no batch " + batchId + " exists");
      return false;
    }
    if (a == null || a.batchId() != b.id()) {
      r.answer(ReportStatus.STALE,
          "the lease token is not a lease of batch " + batchId + "; the report was refused and changed nothing");
      return false;
    }
    if (!a.workerId().equals(r.workerId)) {
      r.answer(ReportStatus.NOT_YOURS,
          "batch " + batchId + "'s lease belongs to another worker: an agent may report only its own leases");
      return false;
    }
    AttemptOutcome current = outcomeNow.getOrDefault(r.token(), a.outcome());
    if (current == r.outcome()) {
      if (r.complete != null) {
        String accepted = acceptedOutputs.get(b.id());
        String output = r.complete.output() == null ? "" : r.complete.output();
        if (accepted != null && !accepted.equals(output)) {
          r.answer(ReportStatus.CONFLICT,
              "batch " + batchId + "'s result was already accepted for this lease with other output; the first"
                  + " result stands and this one changed nothing");
          return false;
        }
      }
      r.answer(ReportStatus.DUPLICATE, "this report was already recorded");
      return false;
    }
    BatchState state = stateNow.getOrDefault(b.id(), b.state());
    if (current != AttemptOutcome.RUNNING || state != BatchState.LEASED || !r.token().equals(b.token())) {
      r.answer(ReportStatus.STALE,
          "the lease of batch " + batchId + " is no longer current (this lease already ended as " + current
              + "); the batch was requeued, cancelled or finished elsewhere, so this report changed nothing");
      return false;
    }
    if (a.commit() != null && !a.commit().equals(r.commit())) {
      r.answer(ReportStatus.WRONG_COMMIT,
          "batch " + batchId + " was leased to run commit " + a.commit() + " but the report names "
              + (r.commit() == null ? "no commit" : r.commit()) + "; a result from other code is never accepted");
      return false;
    }
    return true;
  }

  /** What is wrong with a report on its face, or null. */
  static String invalid(Report r) {
    String token = r.token();
    if (token == null || token.isBlank()) {
      return "leaseToken is required";
    }
    if (token.length() > 64) {
      return "leaseToken is not a lease token (too long)";
    }
    if (r.commit() != null && r.commit().length() > MAX_COMMIT) {
      return "commit must be at most " + MAX_COMMIT + " characters";
    }
    String version = r.complete != null ? r.complete.version() : r.fail.version();
    if (version != null && version.length() > MAX_VERSION) {
      return "version must be at most " + MAX_VERSION + " characters";
    }
    Instant started = r.complete != null ? r.complete.startedAt() : r.fail.startedAt();
    Instant finished = r.complete != null ? r.complete.finishedAt() : r.fail.finishedAt();
    for (Instant t : new Instant[] {started, finished}) {
      if (t != null && (t.isBefore(EARLIEST) || t.isAfter(LATEST))) {
        return "startedAt and finishedAt must be real times (got " + t + ")";
      }
    }
    if (r.complete != null && r.complete.exitCode() != 0) {
      return "a completion must have exit code 0; report other exits as a failure";
    }
    if (r.fail != null && r.fail.outcome() == null) {
      return "outcome is required in a failure report: FAILED, TIMED_OUT, VACATED or REFUSED";
    }
    if (r.fail != null) {
      AttemptOutcome o = failOutcome(r.fail);
      if (!(o == AttemptOutcome.FAILED || o == AttemptOutcome.TIMED_OUT || o == AttemptOutcome.VACATED
          || o == AttemptOutcome.REFUSED)) {
        return "outcome must be FAILED, TIMED_OUT, VACATED or REFUSED, not " + o;
      }
    }
    return null;
  }

  private String tail(String text) {
    if (text == null) {
      return null;
    }
    int max = (int) properties.limits().logTail().toBytes();
    return text.length() <= max ? text : text.substring(text.length() - max);
  }

  private static String truncate(String text, int max) {
    return text == null || text.length() <= max ? text : text.substring(0, max - 1) + "…";
  }

  // ------------------------------------------------------------------------------------------- claims

  /** A job that may have claimable batches, as seen without locks. */
  record Candidate(
      long id,
      int priority,
      Map<String, String> labels,
      Integer maxParallel,
      int leased,
      int pending,
      Freshness freshness) {
    boolean fits(Map<String, String> workerLabels) {
      return labels.entrySet().stream().allMatch(e -> e.getValue().equals(workerLabels.get(e.getKey())));
    }

    /** The worker's labels and its reference data both meet the job's. */
    boolean fits(Map<String, String> workerLabels, dev.nightshift.protocol.DataState data) {
      return fits(workerLabels) && freshness.metBy(data);
    }

    /** How many batches it can lease now, as seen without locks. */
    int room() {
      return maxParallel == null ? pending : Math.max(0, Math.min(pending, maxParallel - leased));
    }
  }

  /** Jobs with pending batches, highest priority first, then oldest. Read without locks; cheap (job table). */
  List<Candidate> candidates() {
    return jdbc.query(
        """
        SELECT id, priority, labels, max_parallel, leased_count, pending_count, max_data_lag_seconds,
          min_data_position FROM job
        WHERE state IN (?, ?) AND pending_count > 0
        ORDER BY priority DESC, id LIMIT ?""",
        (rs, n) ->
            new Candidate(
                rs.getLong(1),
                rs.getInt(2),
                json.readValue(rs.getString(3), STRING_MAP),
                rs.getObject(4, Integer.class),
                rs.getInt(5),
                rs.getInt(6),
                new Freshness(rs.getObject(7, Integer.class), rs.getString(8))),
        JobState.QUEUED.name(),
        JobState.RUNNING.name(),
        CANDIDATE_JOBS);
  }

  private record Share(int request, int count) {}

  private record LockedJob(JobState state, Integer maxParallel, int leased) {}

  /**
   * Plans which job serves which request (priority order, labels, the pending counts and {@code maxParallel} seen
   * without locks), picks pending batches with {@code SKIP LOCKED} (never waiting) and writes their leases; only
   * then locks every job row the group changes, in id order, and checks under those locks that each job is still
   * claimable and within {@code maxParallel}. Leases of jobs that are not (paused or cancelled meanwhile, rare) are
   * withdrawn: their rows, still locked by this transaction, are written back as they were. A request may get fewer batches than planned; it
   * never gets more than it asked for. The job rows are the only rows all groups contend on: they are taken last
   * and held only for the counter updates and the commit.
   */
  private List<List<Lease>> grantClaims(List<Pending> asked, Map<Long, JobCounters.Delta> deltas, Instant now) {
    List<Pending> group = withinSlots(asked);
    List<List<Lease>> granted = new ArrayList<>(group.size());
    group.forEach(p -> granted.add(new ArrayList<>()));
    Map<Long, List<Share>> plan = plan(group);
    Map<Long, JobSpecs.Spec> jobSpecs = plan.isEmpty() ? Map.of() : specs.of(plan.keySet());
    Duration leaseDuration = properties.lease().duration();
    Instant expires = now.plus(leaseDuration);
    // Per job: the leases as they will be answered, and the rows to write for them.
    Map<Long, List<Granted>> picks = new TreeMap<>();
    for (var entry : plan.entrySet()) {
      long jobId = entry.getKey();
      JobSpecs.Spec spec = jobSpecs.get(jobId);
      int total = entry.getValue().stream().mapToInt(Share::count).sum();
      if (spec == null || total <= 0) {
        continue;
      }
      List<BatchStore.Picked> picked = batches.pickPending(jobId, now, total);
      if (picked.isEmpty()) {
        continue;
      }
      CodeResolver.Code run = code.codeFor(spec.commit());
      // A lease can be renewed at most until the batch's timeout (plus two lease periods of slack) has passed.
      Instant deadline = now.plusSeconds(spec.timeoutSeconds()).plus(leaseDuration.multipliedBy(2));
      Map<Integer, String> items = spec.itemsInput() ? loadItems(jobId, picked) : Map.of();
      List<Granted> list = new ArrayList<>();
      int next = 0;
      for (Share share : entry.getValue()) {
        Request r = group.get(share.request).request;
        for (int k = 0; k < share.count && next < picked.size(); k++, next++) {
          BatchStore.Picked p = picked.get(next);
          String token = Tokens.random();
          BatchInput input =
              p.rangeStart() != null
                  ? new BatchInput(null, p.itemCount(), p.rangeStart(), p.rangeEnd())
                  : new BatchInput(items.get(p.seq()), p.itemCount(), null, null);
          list.add(
              new Granted(
                  share.request,
                  p,
                  new BatchStore.NewLease(
                      p.id(), r.workerId, token, p.attempt(), deadline, run.commit(), run.version()),
                  new Lease(p.id(), jobId, p.attempt(), token, expires, run.commit(), run.version(), spec.command(),
                      spec.timeoutSeconds(), input, spec.env(), spec.entryPoint(), spec.args())));
        }
      }
      picks.put(jobId, list);
    }
    writeLeases(picks, now, expires);

    // Last: every job row this group changes, in id order, in one statement; then check the claims under it.
    java.util.SortedSet<Long> jobIds = new java.util.TreeSet<>(deltas.keySet());
    jobIds.addAll(picks.keySet());
    Map<Long, LockedJob> locked = lockJobs(jobIds);
    List<Granted> withdrawn = new ArrayList<>();
    for (var entry : picks.entrySet()) {
      long jobId = entry.getKey();
      LockedJob job = locked.get(jobId);
      int allowed;
      if (job == null || !(job.state == JobState.QUEUED || job.state == JobState.RUNNING)) {
        allowed = 0;
      } else if (job.maxParallel != null) {
        int leasedNow = job.leased + deltas.getOrDefault(jobId, JobCounters.Delta.NONE).leased();
        allowed = Math.max(0, Math.min(entry.getValue().size(), job.maxParallel - leasedNow));
      } else {
        allowed = entry.getValue().size();
      }
      if (allowed < entry.getValue().size()) {
        withdrawn.addAll(entry.getValue().subList(allowed, entry.getValue().size()));
        entry.setValue(new ArrayList<>(entry.getValue().subList(0, allowed)));
      }
    }
    // Rare (the job was paused or cancelled since the plan, or maxParallel was reached meanwhile): the rows are
    // still ours (picked FOR UPDATE), so the lease writes are undone in place; no counter moved for them.
    batches.withdraw(withdrawn.stream().map(Granted::picked).toList());
    for (var entry : picks.entrySet()) {
      if (!entry.getValue().isEmpty()) {
        deltas.merge(
            entry.getKey(), BatchTransition.LEASE.delta(entry.getValue().size(), 0), JobCounters.Delta::plus);
      }
      entry.getValue().forEach(g -> granted.get(g.request).add(g.lease));
    }
    return granted;
  }

  /** One lease being granted: to which request, the rows to write, and the answer. */
  private record Granted(int request, BatchStore.Picked picked, BatchStore.NewLease batchRow, Lease lease) {}

  private void writeLeases(Map<Long, List<Granted>> picks, Instant now, Instant expires) {
    batches.lease(picks.values().stream().flatMap(List::stream).map(Granted::batchRow).toList(), now, expires);
  }

  /**
   * The requests, each asking for no more than its worker's slots minus the leases it holds (counted in this
   * transaction, after its reports): an agent that claims more than it declared gets only what its slots allow.
   * Requests of workers that have no row (none in production: every caller is authenticated) are left as they are.
   */
  private List<Pending> withinSlots(List<Pending> group) {
    java.util.Set<String> ids = new java.util.TreeSet<>();
    group.stream().filter(p -> p.request.freeSlots > 0).forEach(p -> ids.add(p.request.workerId));
    if (ids.isEmpty()) {
      return group;
    }
    Map<String, Integer> room = new HashMap<>();
    jdbc.query(
        "SELECT w.id, w.slots - (SELECT COUNT(*) FROM batch b WHERE b.worker_id = w.id AND b.state = ?)"
            + " FROM worker w WHERE w.id IN (" + BatchStore.marks(ids.size()) + ")",
        (ResultSet rs) -> {
          room.put(rs.getString(1), Math.max(0, rs.getInt(2)));
        },
        java.util.stream.Stream.concat(
                java.util.stream.Stream.of((Object) BatchState.LEASED.name()), ids.stream())
            .toArray());
    List<Pending> capped = new ArrayList<>(group.size());
    for (Pending p : group) {
      Request r = p.request;
      Integer left = room.get(r.workerId);
      if (left == null || r.freeSlots <= left) {
        if (left != null) {
          room.put(r.workerId, left - r.freeSlots);
        }
        capped.add(p);
        continue;
      }
      room.put(r.workerId, 0);
      if (left < r.freeSlots) {
        log.debug("worker {} asked for {} batches; its slots leave room for {}", r.workerId, r.freeSlots, left);
      }
      capped.add(p.withRequest(r.withFreeSlots(left)));
    }
    return capped;
  }

  /**
   * Which job serves which request, from the unlocked candidates: the fair-share policy. Each free slot goes to a
   * job the worker fits, of the highest priority that has room; among jobs of that priority, to the one with the
   * fewest batches leased now (counting this group's plan), and on a tie to the one served least recently (by this
   * server instance). So jobs of equal priority share the slots, a small job is not queued behind a large one, and
   * a higher priority still takes every slot it can use.
   */
  private Map<Long, List<Share>> plan(List<Pending> group) {
    Map<Long, List<Share>> plan = new TreeMap<>();
    if (group.stream().noneMatch(p -> p.request.freeSlots > 0)) {
      return plan;
    }
    List<Candidate> candidates = seenByAll(group);
    if (candidates == null) {
      candidates = candidates();
    }
    Map<Long, int[]> room = new HashMap<>(); // job id -> {room left, leased incl. planned}
    candidates.forEach(c -> room.put(c.id(), new int[] {c.room(), c.leased()}));
    if (served.size() > 4 * CANDIDATE_JOBS) {
      served.keySet().retainAll(room.keySet());
    }
    java.util.Comparator<Candidate> fairest =
        java.util.Comparator.<Candidate>comparingInt(c -> room.get(c.id())[1])
            .thenComparingLong(c -> served.getOrDefault(c.id(), 0L))
            .thenComparingLong(Candidate::id);
    for (int i = 0; i < group.size(); i++) {
      Request r = group.get(i).request;
      int want = r.freeSlots;
      Map<Long, Integer> taken = new LinkedHashMap<>();
      int next = 0;
      while (want > 0 && next < candidates.size()) {
        // The jobs of the next priority level that this worker fits and that have room.
        int priority = candidates.get(next).priority();
        java.util.PriorityQueue<Candidate> level = new java.util.PriorityQueue<>(fairest);
        for (; next < candidates.size() && candidates.get(next).priority() == priority; next++) {
          Candidate c = candidates.get(next);
          if (room.get(c.id())[0] > 0 && c.fits(r.labels, r.data)) {
            level.add(c);
          }
        }
        while (want > 0 && !level.isEmpty()) {
          Candidate c = level.poll();
          int[] left = room.get(c.id());
          left[0]--;
          left[1]++;
          served.put(c.id(), servedSeq.incrementAndGet());
          taken.merge(c.id(), 1, Integer::sum);
          want--;
          if (left[0] > 0) {
            level.add(c);
          }
        }
      }
      for (var t : taken.entrySet()) {
        plan.computeIfAbsent(t.getKey(), k -> new ArrayList<>()).add(new Share(i, t.getValue()));
      }
    }
    return plan;
  }

  /** The candidates every claiming request of the group was queued with, if one fresh read; else null. */
  private static List<Candidate> seenByAll(List<Pending> group) {
    Seen seen = null;
    for (Pending p : group) {
      if (p.request.freeSlots == 0) {
        continue;
      }
      if (p.seen == null || (seen != null && p.seen != seen)) {
        return null;
      }
      seen = p.seen;
    }
    return seen == null || System.nanoTime() - seen.readAt > SEEN_FRESH_NANOS ? null : seen.candidates;
  }

  private Map<Long, LockedJob> lockJobs(java.util.SortedSet<Long> ids) {
    Map<Long, LockedJob> locked = new HashMap<>();
    if (ids.isEmpty()) {
      return locked;
    }
    jdbc.query(
        "SELECT id, state, max_parallel, leased_count FROM job WHERE id IN ("
            + BatchStore.marks(ids.size())
            + ") ORDER BY id FOR UPDATE",
        (ResultSet rs) -> {
          locked.put(
              rs.getLong(1),
              new LockedJob(JobState.valueOf(rs.getString(2)), rs.getObject(3, Integer.class), rs.getInt(4)));
        },
        ids.toArray());
    return locked;
  }

  private Map<Integer, String> loadItems(long jobId, List<BatchStore.Picked> picked) {
    List<Object> args = new ArrayList<>();
    args.add(jobId);
    picked.forEach(p -> args.add(p.seq()));
    Map<Integer, String> items = new HashMap<>();
    jdbc.query(
        "SELECT seq, items FROM batch_input WHERE job_id = ? AND seq IN (" + BatchStore.marks(picked.size()) + ")",
        (ResultSet rs) -> {
          items.put(rs.getInt(1), rs.getString(2));
        },
        args.toArray());
    return items;
  }

  // ------------------------------------------------------------------------------------------- lifecycle

  /** Groups handled and requests in them since start (requests / groups = the mean group size). */
  public long[] groupStats() {
    return new long[] {groups.get(), requests.get()};
  }

  @Override
  public void start() {
    running = true;
    for (int i = 0; i < threadCount; i++) {
      Thread thread = new Thread(this::loop, "batch-engine-" + (i + 1));
      thread.setDaemon(true);
      thread.start();
      threads.add(thread);
    }
  }

  @Override
  public void stop() {
    running = false;
    for (Thread thread : threads) {
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    threads.clear();
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  /** Starts before the claim dispatcher and stops after it. */
  @Override
  public int getPhase() {
    return Integer.MAX_VALUE - 2000;
  }
}
