package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReportAnswer;
import dev.nightshift.protocol.ReportStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The slots alone: counts, starting and ending batches, reservations for claims, stopping on shutdown. */
class SlotsTest {
  @TempDir Path data;
  private final List<Slots> made = new ArrayList<>();
  private final CountDownLatch finish = new CountDownLatch(1);

  @AfterEach
  void tearDown() {
    finish.countDown();
    made.forEach(Slots::shutdown);
  }

  private Slots slots(int size) {
    Slots s = new Slots(size);
    made.add(s);
    return s;
  }

  private static HeldLease lease(long batchId) {
    return new HeldLease(new LeaseRef(batchId, "token-" + batchId), 1, null);
  }

  private Runnable blocked(CountDownLatch started) {
    return () -> {
      started.countDown();
      try {
        finish.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
  }

  @Test
  void aStartedBatchTakesASlotUntilItEndsAndAllSlotsRunAtOnce() throws Exception {
    Slots slots = slots(2);
    assertThat(slots.free()).isEqualTo(2);
    CountDownLatch bothRunning = new CountDownLatch(2);
    List<String> threadNames = java.util.Collections.synchronizedList(new ArrayList<>());
    Runnable work = () -> {
      threadNames.add(Thread.currentThread().getName() + (Thread.currentThread().isDaemon() ? " daemon" : ""));
      blocked(bothRunning).run();
    };

    slots.start(lease(1), work);
    slots.start(lease(2), work);

    assertThat(bothRunning.await(10, TimeUnit.SECONDS)).as("both batches run at the same time").isTrue();
    assertThat(threadNames).containsExactly("nightshift-slot daemon", "nightshift-slot daemon");
    assertThat(slots.running()).isEqualTo(2);
    assertThat(slots.free()).isZero();
    slots.ended("token-1");
    assertThat(slots.running()).isEqualTo(1);
    assertThat(slots.free()).isEqualTo(1);
    assertThat(slots.isHeld("token-1")).isFalse();
    assertThat(slots.isHeld("token-2")).isTrue();
  }

  @Test
  void noBatchStartsWhenEverySlotRuns() {
    Slots slots = slots(1);
    slots.start(lease(1), blocked(new CountDownLatch(1)));
    AtomicInteger ran = new AtomicInteger();

    assertThatThrownBy(() -> slots.start(lease(2), ran::incrementAndGet))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("batch 2 attempt 1");
    slots.shutdown();
    assertThat(ran).hasValue(0);
    assertThat(slots.isHeld("token-2")).isFalse();
    assertThat(slots.running()).isEqualTo(1);
  }

  @Test
  void aClaimReservesTheFreeSlotsAndASecondClaimGetsNoneOfThem() {
    Slots slots = slots(3);
    slots.start(lease(1), blocked(new CountDownLatch(1)));

    assertThat(slots.reserve()).isEqualTo(2);
    assertThat(slots.reserve()).as("already reserved").isZero();
    assertThat(slots.reserved()).isEqualTo(2);
    assertThat(slots.free()).as("heartbeats report running batches only").isEqualTo(2);

    slots.ended("token-1"); // a batch ends while a claim is out: its slot is free for another claim
    assertThat(slots.reserve()).isEqualTo(1);
    slots.unreserve(1);
    slots.unreserve(2);
    assertThat(slots.reserved()).isZero();
    assertThat(slots.reserve()).isEqualTo(3);
  }

  record WithOutbox(MutableClock clock, ReportOutbox outbox, Slots slots) {}

  /** Two slots whose free count follows an outbox, running batches 1 and 2 (blocked until the test ends). */
  private WithOutbox twoRunningWithOutbox() {
    MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
    ReportOutbox outbox = new ReportOutbox(new Spool(data.resolve("spool")), clock,
        () -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), BackoffTest.highest()), 1 << 20);
    Slots slots = new Slots(2, outbox::tokens);
    made.add(slots);
    slots.start(lease(1), blocked(new CountDownLatch(1)));
    slots.start(lease(2), blocked(new CountDownLatch(1)));
    return new WithOutbox(clock, outbox, slots);
  }

  /**
   * The server counts a lease as held until it has its report, and records a claim's reports before it leases: a
   * finished batch's slot is free only to the claim carrying its report, until the server answered it for good.
   */
  @Test
  void aFinishedBatchKeepsItsSlotUntilItsReportIsAnsweredExceptForTheClaimCarryingIt() {
    WithOutbox f = twoRunningWithOutbox();
    MutableClock clock = f.clock();
    ReportOutbox outbox = f.outbox();
    Slots slots = f.slots();
    slots.finished("token-1", () -> outbox.add(result(1, clock.instant()), null));

    assertThat(slots.free()).as("heartbeats: no batch runs on it").isEqualTo(1);
    assertThat(slots.reserve()).as("a claim not carrying its report").isZero();
    ReportOutbox.Batch carried = outbox.takeDue();
    assertThat(slots.reserve(outbox.takeDue())).as("another claim, while the report is on its way").isZero();
    assertThat(slots.reserve(carried)).as("the claim carrying it").isEqualTo(1);
    assertThat(slots.reserve()).isZero();

    outbox.failed(carried, new ProtocolException(503, "down")); // the claim failed: nothing was recorded
    slots.unreserve(1);
    assertThat(slots.reserve()).as("while the report waits for its retry").isZero();
    clock.advance(Duration.ofSeconds(1));
    ReportOutbox.Batch retried = outbox.takeDue();
    assertThat(slots.reserve(retried)).isEqualTo(1);
    outbox.answered(retried, List.of(new ReportAnswer(1, "token-1", ReportStatus.ACCEPTED, null)));
    slots.unreserve(1);

    assertThat(slots.reserve()).as("answered for good: free to any claim").isEqualTo(1);
  }

  @Test
  void aClaimCarryingAReportGetsNoSlotItsBatchStillRunsOn() {
    WithOutbox f = twoRunningWithOutbox();
    MutableClock clock = f.clock();
    ReportOutbox outbox = f.outbox();
    Slots slots = f.slots();
    outbox.add(result(1, clock.instant()), null); // not through finished(): batch 1 still runs on its slot

    assertThat(slots.reserve(outbox.takeDue())).as("a lease started on it now would find no slot").isZero();

    slots.finished("token-2", () -> outbox.add(result(2, clock.instant()), null));
    assertThat(slots.running()).isEqualTo(1);
    assertThat(slots.refs()).containsExactly(new LeaseRef(1, "token-1"));
    assertThat(slots.reserve(outbox.takeDue())).as("batch 2 left its slot").isEqualTo(1);
  }

  private static SpooledReport result(long batchId, Instant at) {
    return SpooledReport.of(1, new CompleteRequest(batchId, "token-" + batchId, null, null, 0, at, at, "out", ""));
  }

  @Test
  void concurrentReservationsNeverExceedTheSlots() throws Exception {
    Slots slots = slots(4);
    int claimers = 16;
    CyclicBarrier together = new CyclicBarrier(claimers);
    AtomicInteger total = new AtomicInteger();
    List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < claimers; i++) {
      Thread t = new Thread(() -> {
        try {
          together.await(10, TimeUnit.SECONDS);
          for (int round = 0; round < 1_000; round++) {
            int n = slots.reserve();
            total.addAndGet(n);
            assertThat(total.get()).isLessThanOrEqualTo(4);
            total.addAndGet(-n);
            slots.unreserve(n);
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      t.setUncaughtExceptionHandler((th, e) -> errors.add(e));
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(20_000);
    }
    assertThat(errors).isEmpty();
    assertThat(slots.reserved()).isZero();
    assertThat(slots.reserve()).isEqualTo(4);
  }

  @Test
  void findsARunningLeaseByTokenThenByBatch() {
    Slots slots = slots(3);
    HeldLease one = lease(1);
    HeldLease two = lease(2);
    slots.start(one, blocked(new CountDownLatch(1)));
    slots.start(two, blocked(new CountDownLatch(1)));

    assertThat(slots.find("token-2", null)).containsSame(two);
    assertThat(slots.find("token-2", 1L)).as("the token wins").containsSame(two);
    assertThat(slots.find("gone", 1L)).containsSame(one);
    assertThat(slots.find(null, 1L)).containsSame(one);
    assertThat(slots.find("gone", 9L)).isEmpty();
    assertThat(slots.find(null, null)).isEmpty();
    assertThat(slots.held()).containsExactlyInAnyOrder(one, two);
    assertThatThrownBy(() -> slots.held().clear()).isInstanceOf(UnsupportedOperationException.class);
  }

  private HeldLease sleeping(long batchId) {
    ScriptRunner runner = new ScriptRunner(
        new RunnerConfig(data.resolve("runs"), data.resolve("logs"), 1 << 20, 4096, List.of("sh", "-c"),
            Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"))),
        new WorkDirWorkspace(data.resolve("work")), new MutableClock(Instant.parse("2026-11-22T10:00:00Z")));
    return new HeldLease(
        new LeaseRef(batchId, "token-" + batchId), 1, runner.prepare(Leases.items(batchId, "sleep 30", 60)));
  }

  @Test
  @DisabledOnOs(OS.WINDOWS)
  void theSnapshotShowsEachRunningBatchAndWhetherItIsSuspended() {
    Slots slots = slots(2);
    HeldLease asleep = sleeping(1);
    slots.start(asleep, () -> asleep.run.run());
    slots.start(lease(2), blocked(new CountDownLatch(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> asleep.run.process().isPresent());
    try {
      assertThat(slots.suspended()).isZero();
      assertThat(asleep.run.suspend()).isTrue();

      assertThat(slots.suspended()).isEqualTo(1);
      assertThat(slots.snapshot())
          .extracting(AgentStatus.Batch::batchId, AgentStatus.Batch::phase)
          .containsExactlyInAnyOrder(tuple(1L, AgentStatus.Phase.SUSPENDED), tuple(2L, AgentStatus.Phase.RUNNING));
      assertThat(slots.refs()).containsExactlyInAnyOrder(new LeaseRef(1, "token-1"), new LeaseRef(2, "token-2"));
    } finally {
      asleep.run.cancel("test over");
    }
  }

  @Test
  void stopAllCancelsEveryRunForShutdownAndTheThreadsEnd() throws Exception {
    Slots slots = slots(2);
    HeldLease withRun = sleeping(1);
    HeldLease notPrepared = lease(2);
    slots.start(notPrepared, blocked(new CountDownLatch(1)));
    slots.start(withRun, () -> {});

    List<HeldLease> stopped = slots.stopAll("agent shutting down");

    assertThat(stopped).containsExactly(withRun);
    assertThat(withRun.stoppedForShutdown).isTrue();
    assertThat(notPrepared.stoppedForShutdown).isFalse();
    assertThat(withRun.run.run().outcome()).isEqualTo(AttemptOutcome.CANCELLED);
    assertThat(slots.running()).as("their slots are freed by ended()").isEqualTo(2);

    slots.shutdown();
    assertThat(slots.awaitTermination(Duration.ofMillis(50))).as("a batch still runs").isFalse();
    finish.countDown();
    assertThat(slots.awaitTermination(Duration.ofSeconds(10))).isTrue();
  }
}
