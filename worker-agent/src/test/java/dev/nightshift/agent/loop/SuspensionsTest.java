package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.runner.RunResult;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.WorkerState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** Idle verdicts applied to real running {@code sh} process trees on real slots, vacate-after on the test's clock. */
@EnabledOnOs(OS.LINUX)
class SuspensionsTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final IdleVerdict OWNER_BACK = IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "the owner is typing");
  @TempDir Path data;
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
  private final Slots slots = new Slots(2);
  private final AtomicReference<RunResult> result = new AtomicReference<>();

  @AfterEach
  void stopSlots() throws InterruptedException {
    slots.stopAll("test over");
    slots.shutdown();
    slots.awaitTermination(WAIT);
  }

  /** Starts a batch that runs until stopped and waits for its process. */
  private HeldLease running(long batchId) {
    RunnerConfig rc = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096,
        List.of("sh", "-c"), Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
    Lease lease = Leases.items(batchId, "sleep 300", 600);
    HeldLease h = new HeldLease(lease.ref(), 1, new ScriptRunner(rc, new WorkDirWorkspace(data.resolve("work")),
        clock).prepare(lease));
    slots.start(h, () -> result.set(h.run.run()));
    await().atMost(WAIT).until(() -> h.run.process().isPresent());
    return h;
  }

  /** The state letter of a process in /proc/PID/stat: R, S, T (stopped)... */
  private static char state(HeldLease h) throws Exception {
    String stat = Files.readString(Path.of("/proc", Long.toString(h.run.process().orElseThrow().pid()), "stat"));
    return stat.charAt(stat.lastIndexOf(')') + 2);
  }

  @Test
  void theOwnersReturnSuspendsEveryRunningBatchAndIdleAgainResumesThem() throws Exception {
    Suspensions suspensions = new Suspensions(slots, Duration.ofMinutes(10));
    HeldLease a = running(1);
    HeldLease b = running(2);

    suspensions.apply(OWNER_BACK);

    assertThat(a.run.isSuspended()).isTrue();
    assertThat(b.run.isSuspended()).isTrue();
    assertThat(state(a)).isEqualTo('T');

    suspensions.apply(IdleVerdict.run("idle again"));

    assertThat(a.run.isSuspended()).isFalse();
    assertThat(b.run.isSuspended()).isFalse();
    assertThat(state(a)).isNotEqualTo('T');
  }

  @Test
  void aBatchSuspendedForVacateAfterIsVacatedNotBefore() {
    Suspensions suspensions = new Suspensions(slots, Duration.ofMinutes(10));
    HeldLease a = running(1);
    suspensions.apply(OWNER_BACK);

    clock.advance(Duration.ofMinutes(9));
    suspensions.apply(OWNER_BACK);
    assertThat(result.get()).isNull();
    assertThat(a.run.isSuspended()).isTrue();

    clock.advance(Duration.ofMinutes(1));
    suspensions.apply(OWNER_BACK);

    await().atMost(WAIT).until(() -> result.get() != null);
    assertThat(result.get().outcome()).isEqualTo(AttemptOutcome.VACATED);
    assertThat(result.get().error()).contains("the owner is typing").contains("vacate-after 10 min");
  }

  @Test
  void vacateAfterZeroVacatesAtOnceAndACancelledBatchIsLeftAlone() {
    Suspensions suspensions = new Suspensions(slots, Duration.ZERO);
    HeldLease a = running(1);
    a.cancelReason = "cancelled by the server";

    suspensions.apply(OWNER_BACK);
    assertThat(a.run.isSuspended()).isFalse();
    assertThat(result.get()).isNull();

    a.cancelReason = null;
    suspensions.apply(OWNER_BACK);

    await().atMost(WAIT).until(() -> result.get() != null);
    assertThat(result.get().outcome()).isEqualTo(AttemptOutcome.VACATED);
    assertThat(result.get().error()).isEqualTo("vacated: the owner is typing");
  }
}
