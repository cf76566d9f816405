package dev.nightshift.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The lockout's back-off on a settable clock: 3 failures in a minute lock a key out for a minute, each further
 * lockout in a row doubles it up to 64 minutes, a key that stays quiet long enough starts again at one minute, and
 * other keys (the same address with another identity) are never blocked by it.
 */
class AuthFailureLimiterTest {
  /** A clock that stands still until moved. */
  static final class StillClock extends Clock {
    private Instant now = Instant.parse("2026-12-02T09:00:00Z");

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  final StillClock clock = new StillClock();
  final AuthFailureLimiter limiter =
      new AuthFailureLimiter(clock, new SecurityProperties(3, Duration.ofMinutes(1), 3650, Duration.ZERO, 10, List.of(), false));

  private void fail(String key, int times) {
    for (int i = 0; i < times; i++) {
      limiter.failed(key);
    }
  }

  @Test
  void repeatedLockoutsOfOneKeyDoubleUpToACapAndOtherKeysAreNeverBlocked() {
    String key = "10.0.0.7 admin";
    fail(key, 2);
    assertThat(limiter.blockedFor(key)).as("under the limit").isZero();
    fail(key, 1);
    assertThat(limiter.blockedFor(key)).isEqualTo(Duration.ofMinutes(1));
    assertThat(limiter.blockedFor("10.0.0.7 someone-else")).as("another identity, same address").isZero();
    fail(key, 5);
    assertThat(limiter.blockedFor(key)).as("attempts while blocked do not grow it").isEqualTo(Duration.ofMinutes(1));

    for (int n = 2; n <= 9; n++) {
      clock.advance(limiter.blockedFor(key));
      assertThat(limiter.blockedFor(key)).as("the lockout ended").isZero();
      fail(key, 3);
      long expected = Math.min(1L << (n - 1), 64);
      assertThat(limiter.blockedFor(key)).as("lockout %d in a row", n).isEqualTo(Duration.ofMinutes(expected));
    }
  }

  @Test
  void aKeyThatStaysQuietIsForgivenAndSlowFailuresNeverLockOut() {
    String key = "10.0.0.8 pc-17";
    fail(key, 3);
    clock.advance(Duration.ofMinutes(1));
    fail(key, 3);
    assertThat(limiter.blockedFor(key)).isEqualTo(Duration.ofMinutes(2));
    clock.advance(Duration.ofMinutes(2 + 4)); // the lockout, then twice its length without a failure
    fail(key, 3);
    assertThat(limiter.blockedFor(key)).as("forgiven: one window again").isEqualTo(Duration.ofMinutes(1));

    String slow = "10.0.0.9 typo";
    for (int i = 0; i < 20; i++) {
      fail(slow, 2);
      clock.advance(Duration.ofMinutes(1));
    }
    assertThat(limiter.blockedFor(slow)).as("2 failures a minute stay under a limit of 3").isZero();
  }
}
