package dev.nightshift.server.batches;

import dev.nightshift.server.system.NightshiftProperties;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.springframework.stereotype.Component;

/** Back-off before a failed batch is tried again: exponential in its failures, capped, with jitter. */
@Component
class RetryPolicy {
  private final Duration initial;
  private final Duration max;

  RetryPolicy(NightshiftProperties properties) {
    this.initial = properties.retry().initialBackoff();
    this.max = properties.retry().maxBackoff();
  }

  /** The delay after the given number of failures (1 = after the first failure): full-range jitter in [d/2, d]. */
  Duration backoff(int failures) {
    long base = initial.toMillis();
    long capped = Math.min(max.toMillis(), base << Math.min(Math.max(failures - 1, 0), 20));
    long half = capped / 2;
    return Duration.ofMillis(half + (half > 0 ? ThreadLocalRandom.current().nextLong(half + 1) : 0));
  }
}
