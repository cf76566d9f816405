package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The loop's wake-up alone: a wake-up ends a rest, is kept when it comes early, and is used once. */
class WakeupTest {
  private static final long LONG = 30_000;
  private final Wakeup wakeup = new Wakeup();

  private long restMillis(long millis, boolean skip) throws InterruptedException {
    long t0 = System.nanoTime();
    wakeup.rest(millis, () -> skip);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  @Test
  void aWakeUpBeforeTheRestEndsItAtOnceAndIsUsedOnce() throws Exception {
    wakeup.wake();
    assertThat(restMillis(LONG, false)).isLessThan(5_000);
    assertThat(restMillis(200, false)).as("the wake-up was used by the first rest").isGreaterThanOrEqualTo(150);
  }

  @Test
  void aWakeUpFromAnotherThreadEndsARestUnderWay() throws Exception {
    AtomicReference<Thread> resting = new AtomicReference<>();
    CompletableFuture<Long> rest = CompletableFuture.supplyAsync(() -> {
      resting.set(Thread.currentThread());
      try {
        return restMillis(LONG, false);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    await().atMost(Duration.ofSeconds(10))
        .until(() -> resting.get() != null && resting.get().getState() == Thread.State.TIMED_WAITING);

    wakeup.wake();

    assertThat(rest.get(10, TimeUnit.SECONDS)).isLessThan(LONG);
  }

  @Test
  void noRestWhenToldToSkipAndAnEarlierWakeUpIsClearedAnyway() throws Exception {
    wakeup.wake();
    assertThat(restMillis(LONG, true)).isLessThan(5_000);
    assertThat(restMillis(200, false)).isGreaterThanOrEqualTo(150);
  }

  @Test
  void anInterruptEndsTheRest() throws Exception {
    Thread.currentThread().interrupt();
    try {
      restMillis(LONG, false);
      org.assertj.core.api.Assertions.fail("rest did not end with the interrupt");
    } catch (InterruptedException expected) {
      assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }
  }
}
