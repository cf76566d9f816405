package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Parked claims' timeouts are spread so agents that parked together come back apart (ScaleBenchmark's waves). */
class ClaimWaitJitterTest {
  @Test
  void aParkedClaimTimesOutInTheLastHalfOfItsWaitAtRandom() {
    Set<Long> seen = new HashSet<>();
    long below20s = 0;
    for (int i = 0; i < 10_000; i++) {
      long t = ClaimDispatcher.jitter(30_000);
      assertThat(t).as("never longer than asked, never under half").isBetween(15_000L, 30_000L);
      seen.add(t);
      below20s += t < 20_000 ? 1 : 0;
    }
    assertThat(seen).hasSizeGreaterThan(5_000);
    // a third of [15 s, 30 s] lies below 20 s: the whole half is used, not only its end
    assertThat(below20s).isBetween(2_800L, 3_900L);
    assertThat(ClaimDispatcher.jitter(1)).isBetween(0L, 1L);
  }
}
