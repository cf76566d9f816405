package dev.nightshift.agent.loop;

import java.time.Duration;
import java.util.Random;

/**
 * Exponential back-off with full jitter and a cap: the n-th consecutive failure waits a uniformly random time in
 * {@code [0, min(cap, base * 2^(n-1))]}. Random is injected so tests can assert the exact sequence.
 */
public final class Backoff {
  private final long baseMillis;
  private final long capMillis;
  private final Random random;
  private int failures;

  public Backoff(Duration base, Duration cap, Random random) {
    if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
      throw new IllegalArgumentException("back-off needs 0 < base <= cap, got " + base + " and " + cap);
    }
    this.baseMillis = base.toMillis();
    this.capMillis = cap.toMillis();
    this.random = random;
  }

  /** The ceiling of the n-th consecutive failure's delay (n from 1). */
  public Duration ceiling(int n) {
    int shift = Math.min(Math.max(n - 1, 0), 40);
    long c = baseMillis << shift;
    return Duration.ofMillis(c <= 0 || c > capMillis ? capMillis : c);
  }

  /** Records one more failure and returns how long to wait before trying again. */
  public synchronized Duration next() {
    failures++;
    return Duration.ofMillis(random.nextLong(ceiling(failures).toMillis() + 1));
  }

  /** Records a success: the next failure starts from the base again. */
  public synchronized void reset() {
    failures = 0;
  }

  public synchronized int failures() {
    return failures;
  }
}
