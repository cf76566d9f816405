package dev.nightshift.agent.loop;

import dev.nightshift.agent.system.DaemonThreads;
import dev.nightshift.protocol.LeaseRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The agent's slots: how many batches may run at once, the leases running on them (by lease token) and the threads
 * they run on. A batch takes a slot when its lease starts; its thread is free when the batch ends, but for claims the
 * slot stays taken until the server has its report: a finished result waits in the {@link ReportOutbox} (it enters
 * the outbox as it leaves here, {@link #finished}), and the server counts its lease as held until the report arrives.
 *
 * <p>A claim asks for the slots it {@link #reserve reserved}; reserved slots are not handed to a second claim until
 * given back. A claim may count the slots of the reports it carries itself (the server records a claim's reports
 * before it leases), never those of reports another claim carries, that wait for a retry, or that go out separately.
 * So however the loop thread's, the slot threads' and the report-only claims interleave, the server never counts more
 * leases for this agent than it has slots. Reservations do not change what {@link #free()} reports (heartbeats send
 * it: slots no batch runs on).
 */
final class Slots {
  private final int size;
  private final Map<String, HeldLease> held = new ConcurrentHashMap<>();
  private final ExecutorService threads;
  private final Supplier<Collection<String>> reporting;
  private int reserved; // guarded by this

  /** Slots without an outbox (every ended batch frees its slot at once): for tests of the slots alone. */
  Slots(int size) {
    this(size, List::of);
  }

  /**
   * @param reporting the lease tokens of the finished results waiting for the server's final answer (the outbox's);
   *     a result enters it in {@link #finished}
   */
  Slots(int size, Supplier<Collection<String>> reporting) {
    this.size = size;
    this.reporting = reporting;
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

  /** Reserves every slot free for a claim that carries no report; returns how many, the number to ask for. */
  int reserve() {
    return reserve(ReportOutbox.Batch.EMPTY);
  }

  /**
   * Reserves every slot free for a claim carrying {@code carried} (taken from the outbox for this claim, so no other
   * claim carries them): the slots neither running a batch nor waiting for a report, nor reserved by another claim,
   * plus those of the reports it carries, which the server frees before it leases. Returns how many, the number of
   * batches to ask for; give them back with {@link #unreserve} once the claim's leases started.
   */
  synchronized int reserve(ReportOutbox.Batch carried) {
    // Under this lock no lease starts, and none moves from running to waiting (finished); one whose result is
    // answered meanwhile only frees a slot early.
    Set<String> taken = new HashSet<>(held.keySet());
    Collection<String> waiting = reporting.get();
    taken.addAll(waiting);
    int own = 0;
    for (ReportOutbox.Entry e : carried.entries()) {
      String token = e.ref.leaseToken();
      if (waiting.contains(token) && !held.containsKey(token)) { // never a slot a batch still runs on
        own++;
      }
    }
    int n = Math.max(0, size - taken.size() - reserved + own);
    reserved += n;
    return n;
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

  /** The batch of this lease ended without a result to report (cancelled, stopped for shutdown): its slot is free. */
  void ended(String leaseToken) {
    held.remove(leaseToken);
  }

  /**
   * The batch of this lease ended with a result: {@code intoOutbox} hands it to the outbox, and the lease leaves the
   * running ones, in one step under this lock; so a claim never counts it twice or not at all, nor its slot as free
   * to the claim carrying its report while the batch still runs there. Its thread is free; its slot stays taken
   * until the server has the report.
   */
  synchronized void finished(String leaseToken, Runnable intoOutbox) {
    try {
      intoOutbox.run();
    } finally {
      held.remove(leaseToken);
    }
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
