package dev.nightshift.agent.loop;

import dev.nightshift.agent.system.DaemonThreads;
import dev.nightshift.protocol.LeaseRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The agent's slots: how many batches may run at once, the leases running on them (by lease token) and the threads
 * they run on. A slot is taken when a lease starts and freed when its batch ends.
 *
 * <p>A claim asks for the slots it {@link #reserve reserved}; reserved slots are not handed to a second claim until
 * given back. The loop thread and the slot threads whose batches just ended claim at the same time, so each claims
 * only the slots it reserved and starts at most that many leases: together they never hold more leases than slots.
 * Reservations do not change what {@link #free()} reports (heartbeats send it).
 */
final class Slots {
  private final int size;
  private final Map<String, HeldLease> held = new ConcurrentHashMap<>();
  private final ExecutorService threads;
  private int reserved; // guarded by this

  Slots(int size) {
    this.size = size;
    this.threads = Executors.newCachedThreadPool(DaemonThreads.named("nightshift-slot"));
  }

  /** How many slots the agent has. */
  int size() {
    return size;
  }

  /** How many batches run now. */
  int running() {
    return held.size();
  }

  /** Slots no batch runs on. */
  int free() {
    return Math.max(0, size - held.size());
  }

  /** Reserves every free slot no other claim has reserved; returns how many, the number of batches to ask for. */
  synchronized int reserve() {
    int n = Math.max(0, size - held.size() - reserved);
    reserved += n;
    return n;
  }

  /**
   * Reserves up to {@code n} free slots no other claim has reserved: those of batches whose reports are on their way
   * in a report-only claim, which the server still counts as held until the reports arrive.
   */
  synchronized int reserveUpTo(int n) {
    int k = Math.max(0, Math.min(n, size - held.size() - reserved));
    reserved += k;
    return k;
  }

  /** Gives back a reservation once its claim's leases have started (or none came). */
  synchronized void unreserve(int n) {
    reserved = Math.max(0, reserved - n);
  }

  /** Slots reserved by claims in flight. */
  synchronized int reserved() {
    return reserved;
  }

  /**
   * Runs {@code work} for {@code lease} on a slot thread, holding the lease until {@link #ended}.
   *
   * @throws IllegalStateException when no slot is free (nothing runs)
   */
  synchronized void start(HeldLease lease, Runnable work) {
    if (held.size() >= size) {
      throw new IllegalStateException("no free slot for " + lease.describe() + ": all " + size + " run");
    }
    held.put(lease.ref.leaseToken(), lease);
    try {
      threads.execute(work);
    } catch (RuntimeException e) { // shut down meanwhile
      held.remove(lease.ref.leaseToken());
      throw e;
    }
  }

  /** The batch of this lease ended: its slot is free. */
  void ended(String leaseToken) {
    held.remove(leaseToken);
  }

  boolean isHeld(String leaseToken) {
    return held.containsKey(leaseToken);
  }

  /** The running lease with this token or, failing that, for this batch. */
  Optional<HeldLease> find(String leaseToken, Long batchId) {
    HeldLease h = leaseToken != null ? held.get(leaseToken) : null;
    if (h == null && batchId != null) {
      h = held.values().stream().filter(x -> x.ref.batchId() == batchId).findFirst().orElse(null);
    }
    return Optional.ofNullable(h);
  }

  /** The running leases, a live view for status, heartbeats and idle checks. */
  Collection<HeldLease> held() {
    return Collections.unmodifiableCollection(held.values());
  }

  /** The leases running now. */
  List<LeaseRef> refs() {
    return held.values().stream().map(h -> h.ref).collect(Collectors.toList());
  }

  /** How many running batches are suspended now. */
  int suspended() {
    return (int) held.values().stream().filter(h -> h.run != null && h.run.isSuspended()).count();
  }

  /** The running batches as {@code status} shows them: suspended (and for how long) or running. */
  List<AgentStatus.Batch> snapshot() {
    List<AgentStatus.Batch> batches = new ArrayList<>();
    for (HeldLease h : held.values()) {
      boolean suspended = h.run != null && h.run.isSuspended();
      batches.add(new AgentStatus.Batch(h.ref.batchId(), h.attempt,
          suspended ? AgentStatus.Phase.SUSPENDED : AgentStatus.Phase.RUNNING,
          suspended ? h.run.suspendedFor().toSeconds() : null));
    }
    return batches;
  }

  /**
   * Stops every running batch for shutdown (its result will be dropped, not reported) and frees its slot; returns
   * the leases stopped, to be given back to the server.
   */
  List<HeldLease> stopAll(String reason) {
    List<HeldLease> stopped = new ArrayList<>();
    for (HeldLease h : held.values()) {
      if (h.run != null) {
        h.stoppedForShutdown = true;
        h.run.cancel(reason);
        stopped.add(h);
      }
    }
    return stopped;
  }

  /** Lets no new batch start; the running ones end on their own threads. */
  void shutdown() {
    threads.shutdown();
  }

  /** Waits for every slot thread to end after {@link #shutdown}; false when some did not within {@code max}. */
  boolean awaitTermination(Duration max) throws InterruptedException {
    return threads.awaitTermination(max.toMillis(), TimeUnit.MILLISECONDS);
  }
}
