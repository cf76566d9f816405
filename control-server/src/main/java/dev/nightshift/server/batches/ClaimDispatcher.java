package dev.nightshift.server.batches;

import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.Lease;
import dev.nightshift.server.system.NightshiftProperties;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.transaction.event.TransactionalEventListener;
import org.springframework.web.context.request.async.DeferredResult;

/**
 * Long-polled claims. A claim that finds no work waits (without holding a servlet thread) until work is announced
 * in-process after a commit ({@link WorkAvailable}), or until the poll interval passes (for retry back-offs ending
 * and work queued through another server instance), or until its wait runs out. One dispatcher thread per server
 * serves all waiting agents, so idle agents cost no database queries beyond one look at the job table per round.
 */
@Component
public class ClaimDispatcher implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(ClaimDispatcher.class);
  private static final int MAX_SLOTS = 256;

  private final ClaimService claims;
  private final LeaseService leases;
  private final java.util.function.Supplier<dev.nightshift.protocol.CodeRelease> release;
  private final Duration maxWait;
  private final Duration pollInterval;
  private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong releases = new AtomicLong();
  private final Object signal = new Object();
  private volatile boolean running;
  private Thread thread;

  ClaimDispatcher(
      ClaimService claims, LeaseService leases, NightshiftProperties properties, CurrentRelease release) {
    this.claims = claims;
    this.leases = leases;
    this.release = release::current;
    this.maxWait = properties.claim().maxWait();
    this.pollInterval = properties.claim().pollInterval();
  }

  private record Waiter(
      String workerId, Map<String, String> labels, int max, DeferredResult<ClaimResponse> result) {}

  /**
   * Answers at once when work is there, no wait was asked for, or the worker is drained (nothing, at once);
   * otherwise parks the claim.
   */
  public DeferredResult<ClaimResponse> claim(String workerId, ClaimRequest request) {
    int max = Math.max(0, Math.min(request.freeSlots(), MAX_SLOTS));
    long wait = Math.max(0, Math.min(request.waitMillis(), maxWait.toMillis()));
    DeferredResult<ClaimResponse> result = new DeferredResult<>(wait > 0 ? wait : null);
    if (max == 0) {
      result.setResult(answer(List.of()));
      return result;
    }
    long seen = generation.get();
    long releaseSeen = releases.get();
    ClaimService.Claimant claimant = claims.claimant(workerId);
    if (claimant.drained()) {
      result.setResult(answer(List.of()));
      return result;
    }
    Map<String, String> labels = claimant.labels();
    List<Lease> granted = claims.claim(workerId, labels, max, claims.candidates());
    if (!granted.isEmpty() || wait == 0 || !running) {
      result.setResult(answer(granted));
      return result;
    }
    Waiter waiter = new Waiter(workerId, labels, max, result);
    result.onTimeout(() -> result.setResult(answer(List.of())));
    result.onCompletion(() -> waiters.remove(waiter));
    result.onError(e -> waiters.remove(waiter));
    waiters.add(waiter);
    if (releases.get() != releaseSeen && waiters.remove(waiter)) {
      result.setResult(answer(List.of())); // a promotion happened while this claim was looking: tell it now
    } else if (generation.get() != seen) {
      wake();
    }
    return result;
  }

  private ClaimResponse answer(List<Lease> granted) {
    return new ClaimResponse(granted, release.get());
  }

  @TransactionalEventListener(fallbackExecution = true)
  void on(WorkAvailable event) {
    wake();
  }

  /** A new release: every parked claim is answered now (no leases, the release), so agents fetch it at once. */
  @org.springframework.context.event.EventListener
  void on(CurrentRelease.Changed event) {
    releases.incrementAndGet();
    for (Waiter w : waiters) {
      waiters.remove(w);
      w.result.setResult(answer(List.of()));
    }
  }

  /** Answers a worker's parked claims with nothing: its agent is stopping and must not be handed work. */
  public void dropWaiters(String workerId) {
    for (Waiter w : waiters) {
      if (w.workerId.equals(workerId)) {
        waiters.remove(w);
        w.result.setResult(answer(List.of()));
      }
    }
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
        log.warn("claim dispatch failed, will try again: {}", t.toString());
      }
    }
  }

  private void dispatch() {
    List<ClaimService.Candidate> candidates = claims.candidates();
    if (candidates.isEmpty()) {
      return;
    }
    Set<Map<String, String>> exhausted = new HashSet<>();
    for (Waiter w : new ArrayList<>(waiters)) {
      if (w.result.isSetOrExpired()) {
        waiters.remove(w);
        continue;
      }
      if (exhausted.contains(w.labels)) {
        continue;
      }
      List<Lease> granted = claims.claim(w.workerId, w.labels, w.max, candidates);
      if (granted.isEmpty()) {
        exhausted.add(w.labels);
        continue;
      }
      waiters.remove(w);
      if (!w.result.setResult(answer(granted))) {
        // The claim timed out or its agent went away in the meantime: give the batches straight back.
        leases.release(w.workerId, granted.stream().map(Lease::ref).toList(), "claim answer not deliverable");
      }
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
    wake();
    for (Waiter w : waiters) {
      w.result.setResult(answer(List.of()));
    }
    waiters.clear();
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
