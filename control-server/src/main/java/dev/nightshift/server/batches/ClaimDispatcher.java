package dev.nightshift.server.batches;

import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.Lease;
import dev.nightshift.server.system.DatabaseOutage;
import dev.nightshift.server.system.NightshiftProperties;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.transaction.event.TransactionalEventListener;
import org.springframework.web.context.request.async.DeferredResult;

/**
 * Long-polled claims. A claim that finds no work waits (without holding a servlet thread) until work is announced
 * in-process after a commit ({@link WorkAvailable}) or by another server instance (grid/GridSignal), or until the
 * poll interval passes (for retry back-offs ending), or until its wait runs out. One dispatcher thread per server
 * serves all waiting agents, so idle agents cost no database queries beyond one look at the job table per round.
 */
@Component
public class ClaimDispatcher implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(ClaimDispatcher.class);
  private static final int MAX_SLOTS = 256;

  private final ClaimService claims;
  private final BatchEngine engine;
  private final LeaseService leases;
  private final dev.nightshift.server.metrics.NightshiftMeters meters;
  private final java.util.function.Supplier<dev.nightshift.protocol.CodeRelease> release;
  private final Duration maxWait;
  private final Duration pollInterval;
  /**
   * Parked claims in the order they parked (dispatch serves the longest-waiting first), keyed by a sequence number:
   * a claim answered or timed out leaves in O(log n), not by a scan comparing every waiter (5,000 parked agents).
   */
  private final ConcurrentSkipListMap<Long, Waiter> waiters = new ConcurrentSkipListMap<>();
  /**
   * The same waiters' sequence numbers by worker: a heartbeat looks up its own worker's parked claim instead of
   * scanning all of them (with 5,000 agents that scan was a sixth of the server's CPU samples in ScaleBenchmark).
   */
  private final java.util.concurrent.ConcurrentHashMap<String, java.util.Set<Long>> byWorker =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong parkings = new AtomicLong();
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong releases = new AtomicLong();
  private final Object signal = new Object();
  private volatile boolean running;
  private Thread thread;

  ClaimDispatcher(
      ClaimService claims,
      BatchEngine engine,
      LeaseService leases,
      NightshiftProperties properties,
      CurrentRelease release,
      dev.nightshift.server.metrics.NightshiftMeters meters) {
    this.meters = meters;
    this.expiries =
        new java.util.concurrent.ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "claim-expiry");
              t.setDaemon(true);
              return t;
            });
    this.expiries.setRemoveOnCancelPolicy(true); // answered early (work came): out of the queue at once
    this.expiries.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.claims = claims;
    this.engine = engine;
    this.leases = leases;
    this.release = release::current;
    this.maxWait = properties.claim().maxWait();
    this.pollInterval = properties.claim().pollInterval();
  }

  private record Waiter(
      long seq, String workerId, Map<String, String> labels, int max, DeferredResult<ClaimResponse> result,
      dev.nightshift.protocol.DataState data) {}

  /**
   * How much longer than its own expiry a parked claim's {@link DeferredResult} may live: Tomcat's timeout, only a
   * backstop, since {@link #expiries} answers every parked claim on time.
   */
  private static final long BACKSTOP_MILLIS = 10_000;

  /**
   * Answers parked claims when their wait runs out, each at its own instant. Tomcat checks async timeouts once a
   * second, so left to it every claim expiring within that second was answered in one burst, and the agents' next
   * claims arrived as another: some 200 requests at once every second with 5,000 agents, and a heartbeat caught
   * behind them waited half a second (ScaleBenchmark's steady-state p99).
   */
  private final java.util.concurrent.ScheduledThreadPoolExecutor expiries;

  /**
   * Records the reports the claim carries and leases what there is, in the engine's next group. Answers at once
   * when work was leased, when it carried reports, when no wait was asked for, or when the worker is drained
   * (nothing, at once); otherwise parks the claim. Never holds a servlet thread.
   */
  public DeferredResult<ClaimResponse> claim(String workerId, ClaimRequest request) {
    return claim(workerId, null, request);
  }

  /**
   * As {@link #claim(String, ClaimRequest)}, with the worker's labels and drain as read when the call was
   * authenticated ({@code null}: read them now).
   */
  public DeferredResult<ClaimResponse> claim(
      String workerId, ClaimService.Claimant known, ClaimRequest request) {
    int max = Math.max(0, Math.min(request.freeSlots(), MAX_SLOTS));
    long wait = Math.max(0, Math.min(request.waitMillis(), maxWait.toMillis()));
    long expiresAt = wait > 0 ? System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(jitter(wait)) : 0;
    DeferredResult<ClaimResponse> result = new DeferredResult<>(wait > 0 ? wait + BACKSTOP_MILLIS : null);
    boolean reports = request.reportCount() > 0;
    if (max == 0 && !reports) {
      result.setResult(answer(List.of(), List.of()));
      return result;
    }
    long seen = generation.get();
    long releaseSeen = releases.get();
    ClaimService.Claimant claimant = known != null ? known : claims.claimant(workerId);
    int take = claimant.drained() ? 0 : max;
    if (take == 0 && !reports) {
      result.setResult(answer(List.of(), List.of()));
      return result;
    }
    Map<String, String> labels = claimant.labels();
    engine
        .submit(new BatchEngine.Request(workerId, labels, take, request.completed(), request.failed(),
            claimant.data()))
        .whenComplete(
            (outcome, error) -> {
              if (error != null) {
                result.setErrorResult(error instanceof java.util.concurrent.CompletionException c ? c.getCause() : error);
                return;
              }
              if (!outcome.leases().isEmpty() || reports || take == 0 || wait == 0 || !running) {
                deliver(workerId, result, answer(outcome.leases(), outcome.reports()));
                return;
              }
              park(new Waiter(parkings.incrementAndGet(), workerId, labels, take, result, claimant.data()), seen,
                  releaseSeen, expiresAt);
            });
    return result;
  }

  /**
   * Spreads long-poll timeouts over the last half of the wait, so agents that all parked at once (after a restart
   * or a promotion) do not all come back in the same instant, and each cycle spreads them further: 5,000 claims
   * parked in one storm come back over 15 s (333/s with a 30 s wait), not over the last 6 s (833/s). An idle agent
   * claims once per 22.5 s on average instead of once per 27 s.
   */
  static long jitter(long wait) {
    return wait - java.util.concurrent.ThreadLocalRandom.current().nextLong(wait / 2 + 1);
  }

  private void park(Waiter waiter, long seen, long releaseSeen, long expiresAt) {
    DeferredResult<ClaimResponse> result = waiter.result;
    result.onTimeout(() -> result.setResult(answer(List.of(), List.of())));
    java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> expiry =
        new java.util.concurrent.atomic.AtomicReference<>();
    Runnable leave =
        () -> {
          unpark(waiter);
          java.util.concurrent.ScheduledFuture<?> f = expiry.get();
          if (f != null) {
            f.cancel(false);
          }
        };
    result.onCompletion(leave);
    result.onError(e -> leave.run());
    add(waiter);
    try {
      expiry.set(
          expiries.schedule(
              () -> {
                if (unpark(waiter)) {
                  result.setResult(answer(List.of(), List.of()));
                }
              },
              Math.max(0, expiresAt - System.nanoTime()),
              java.util.concurrent.TimeUnit.NANOSECONDS));
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      if (unpark(waiter)) {
        result.setResult(answer(List.of(), List.of()));
      }
      return;
    }
    if (releases.get() != releaseSeen && unpark(waiter)) {
      result.setResult(answer(List.of(), List.of())); // a promotion happened while this claim looked: tell it now
    } else if (generation.get() != seen) {
      wake();
    }
  }

  /** Answers the claim; leases it can no longer deliver (it timed out, its agent left) are given straight back. */
  private void deliver(String workerId, DeferredResult<ClaimResponse> result, ClaimResponse response) {
    if (!result.setResult(response) && !response.leases().isEmpty()) {
      leases.release(workerId, response.leases().stream().map(Lease::ref).toList(), "claim answer not deliverable");
    }
  }

  private ClaimResponse answer(List<Lease> granted, List<dev.nightshift.protocol.ReportAnswer> reports) {
    meters.claimAnswered(granted.size());
    return new ClaimResponse(granted, release.get(), reports);
  }

  @TransactionalEventListener(fallbackExecution = true)
  void on(WorkAvailable event) {
    wake();
  }

  /** A new release: every parked claim is answered now (no leases, the release), so agents fetch it at once. */
  @org.springframework.context.event.EventListener
  void on(CurrentRelease.Changed event) {
    releaseChanged();
  }

  /** A new release, here or on another server instance: every parked claim is answered now with it. */
  public void releaseChanged() {
    releases.incrementAndGet();
    for (Waiter w : waiters.values()) {
      if (unpark(w)) {
        w.result.setResult(answer(List.of(), List.of()));
      }
    }
  }

  /** Answers a worker's parked claims with nothing: its agent is stopping and must not be handed work. */
  public void dropWaiters(String workerId) {
    for (Waiter w : parkedBy(workerId)) {
      if (unpark(w)) {
        w.result.setResult(answer(List.of(), List.of()));
      }
    }
  }

  /**
   * A heartbeat brought the worker's reference data: its parked claims are matched against it from now on, and
   * are tried again at once when it changed (a replica that caught up gets the batches it was held back from).
   */
  public void dataReported(String workerId, dev.nightshift.protocol.DataState data) {
    boolean changed = false;
    for (Waiter w : parkedBy(workerId)) {
      if (!java.util.Objects.equals(w.data, data)) {
        changed |= waiters.replace(w.seq, w, new Waiter(w.seq, w.workerId, w.labels, w.max, w.result, data));
      }
    }
    if (changed) {
      wake();
    }
  }

  private void add(Waiter w) {
    byWorker.compute(
        w.workerId,
        (k, seqs) -> {
          java.util.Set<Long> s = seqs != null ? seqs : java.util.concurrent.ConcurrentHashMap.newKeySet();
          s.add(w.seq);
          return s;
        });
    waiters.put(w.seq, w);
  }

  /** Takes a waiter out; true when it was still parked (so whoever took it answers it). */
  private boolean unpark(Waiter w) {
    boolean parked = waiters.remove(w.seq) != null;
    byWorker.computeIfPresent(
        w.workerId,
        (k, seqs) -> {
          seqs.remove(w.seq);
          return seqs.isEmpty() ? null : seqs;
        });
    return parked;
  }

  /** The worker's parked claims (usually one), as they are now. */
  private List<Waiter> parkedBy(String workerId) {
    java.util.Set<Long> seqs = byWorker.get(workerId);
    if (seqs == null) {
      return List.of();
    }
    List<Waiter> found = new ArrayList<>(seqs.size());
    for (Long seq : seqs) {
      Waiter w = waiters.get(seq);
      if (w != null) {
        found.add(w);
      }
    }
    return found;
  }

  /** Wakes waiting claims now. */
  public void wake() {
    generation.incrementAndGet();
    synchronized (signal) {
      signal.notifyAll();
    }
  }

  /** Claims parked waiting for work right now. */
  public int waiting() {
    return waiters.size();
  }

  private void loop() {
    long lastSeen = -1;
    while (running) {
      try {
        synchronized (signal) {
          if (generation.get() == lastSeen) {
            signal.wait(pollInterval.toMillis());
          }
        }
        lastSeen = generation.get();
        if (!waiters.isEmpty()) {
          dispatch();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Throwable t) {
        if (DatabaseOutage.isCause(t)) {
          DatabaseOutage.noted(t); // parked claims wait on; they are answered when the database is back
        } else {
          log.warn("claim dispatch failed, will try again: {}", t.toString());
        }
      }
    }
  }

  /**
   * Serves parked claims: plans, without locks, which waiters the pending work can serve (so a wake-up with one
   * batch and 5,000 parked agents costs one request, not 5,000), then hands those to the engine as one group.
   */
  private void dispatch() {
    long readAt = System.nanoTime();
    List<BatchEngine.Candidate> candidates = engine.candidates();
    if (candidates.isEmpty()) {
      return;
    }
    Map<Long, Integer> left = new java.util.HashMap<>();
    candidates.forEach(c -> left.put(c.id(), c.room()));
    List<Waiter> chosen = new ArrayList<>();
    for (Waiter w : waiters.values()) {
      if (w.result.isSetOrExpired()) {
        unpark(w);
        continue;
      }
      int want = w.max;
      for (BatchEngine.Candidate c : candidates) {
        int room = left.get(c.id());
        if (want == 0 || room == 0 || !c.fits(w.labels, w.data)) {
          continue;
        }
        int take = Math.min(want, room);
        left.put(c.id(), room - take);
        want -= take;
      }
      if (want < w.max) {
        chosen.add(w);
      }
    }
    if (chosen.isEmpty()) {
      return;
    }
    List<BatchEngine.Outcome> outcomes =
        engine.runAll(
            chosen.stream()
                .map(w -> new BatchEngine.Request(w.workerId, w.labels, w.max, null, null, w.data))
                .toList(),
            candidates,
            readAt);
    for (int i = 0; i < chosen.size(); i++) {
      Waiter w = chosen.get(i);
      List<Lease> granted = outcomes.get(i).leases();
      if (granted.isEmpty()) {
        continue;
      }
      unpark(w);
      deliver(w.workerId, w.result, answer(granted, List.of()));
    }
  }

  @Override
  public void start() {
    running = true;
    thread = new Thread(this::loop, "claim-dispatcher");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void stop() {
    running = false;
    expiries.shutdownNow();
    wake();
    for (Waiter w : waiters.values()) {
      w.result.setResult(answer(List.of(), List.of()));
    }
    waiters.clear();
    byWorker.clear();
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
