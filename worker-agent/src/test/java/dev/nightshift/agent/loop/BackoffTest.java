package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
  /** A Random that always picks the top of the range, so the sequence of ceilings is visible. */
  static Random highest() {
    return new Random() {
      @Override
      public long nextLong(long bound) {
        return bound - 1;
      }
    };
  }

  private static List<Long> take(Backoff b, int n) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(b.next().toMillis());
    }
    return out;
  }

  @Test
  void ceilingsDoubleFromTheBaseUpToTheCap() {
    Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), highest());

    assertThat(take(b, 9)).containsExactly(1_000L, 2_000L, 4_000L, 8_000L, 16_000L, 32_000L, 60_000L, 60_000L, 60_000L);
  }

  @Test
  void fullJitterStaysWithinEachCeilingAndSpreads() {
    Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), new Random(42));
    long[] ceilings = {1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000};

    List<Long> delays = take(b, ceilings.length);

    for (int i = 0; i < ceilings.length; i++) {
      assertThat(delays.get(i)).as("delay %d", i + 1).isBetween(0L, ceilings[i]);
    }
    assertThat(delays).doesNotHaveDuplicates();
  }

  @Test
  void resetStartsFromTheBaseAgain() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), highest());
    take(b, 5);
    assertThat(b.failures()).isEqualTo(5);

    b.reset();

    assertThat(take(b, 2)).containsExactly(100L, 200L);
  }

  @Test
  void ceilingNeverOverflowsForLongStreaks() {
    Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), highest());
    assertThat(b.ceiling(10_000)).isEqualTo(Duration.ofSeconds(60));
  }
}
