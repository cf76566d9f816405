package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.protocol.WorkerState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The idle check alone: the last verdict, when it counts as changed, a failing policy, one check at a time. */
class IdleCheckTest {
  private final AtomicReference<IdleVerdict> next = new AtomicReference<>(IdleVerdict.run("idle"));
  private final IdleCheck check = new IdleCheck(next::get);
  private final List<String> applied = new ArrayList<>();

  private IdleVerdict check() {
    return check.check((v, changed) -> applied.add(v.word() + (changed ? " changed" : "")));
  }

  @Test
  void appliesEachVerdictAndSaysWhenItChanged() {
    assertThat(check.last()).isNull();

    IdleVerdict first = check();
    check(); // same
    next.set(IdleVerdict.run("still idle, other words")); // a new reason alone is no change
    check();
    next.set(IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "owner back"));
    check();
    next.set(IdleVerdict.wait(WorkerState.PAUSED_BY_OWNER, "owner paused it")); // same 'run', other state
    IdleVerdict last = check();

    assertThat(first.reason()).isEqualTo("idle");
    assertThat(applied).containsExactly(
        "RUN changed", "RUN", "RUN", "OWNER_ACTIVE changed", "PAUSED_BY_OWNER changed");
    assertThat(check.last()).isSameAs(last);
  }

  @Test
  void aFailingPolicyCountsAsRun() {
    IdleCheck failing = new IdleCheck(() -> {
      throw new IllegalStateException("probe broke");
    });
    List<IdleVerdict> seen = new ArrayList<>();

    IdleVerdict v = failing.check((verdict, changed) -> seen.add(verdict));
    failing.check((verdict, changed) -> seen.add(verdict));

    assertThat(v.run()).isTrue();
    assertThat(v.reason()).startsWith("idle policy failed (java.lang.IllegalStateException: probe broke)");
    assertThat(seen).hasSize(2);
    assertThat(failing.last()).isSameAs(seen.get(1));
  }

  @Test
  void checksFromSeveralThreadsApplyOneAtATime() throws Exception {
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    AtomicInteger applications = new AtomicInteger();
    int threads = 4;
    CyclicBarrier together = new CyclicBarrier(threads);
    List<Thread> all = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(() -> {
        try {
          together.await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        for (int round = 0; round < 200; round++) {
          check.check((v, changed) -> {
            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
            Thread.yield();
            applications.incrementAndGet();
            inside.decrementAndGet();
          });
        }
      });
      all.add(t);
      t.start();
    }
    for (Thread t : all) {
      t.join(20_000);
    }
    assertThat(applications).hasValue(threads * 200);
    assertThat(most).hasValue(1);
  }

  @Test
  void recentReusesAVerdictUpToItsAgeThenAsksAgain() throws Exception {
    IdleVerdict first = check.recent(Duration.ofSeconds(10), (v, changed) -> applied.add(v.word()));
    next.set(IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "owner back"));

    assertThat(check.recent(Duration.ofSeconds(10), (v, changed) -> applied.add(v.word()))).isSameAs(first);
    Thread.sleep(20);
    assertThat(check.recent(Duration.ofMillis(10), (v, changed) -> applied.add(v.word())).run()).isFalse();
    assertThat(applied).containsExactly("RUN", "OWNER_ACTIVE");
  }
}
