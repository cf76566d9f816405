package dev.nightshift.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/**
 * The credential cache on its own. Bad inputs tried: the parts of a verified (user, password) shifted across their
 * boundary, the same password against another stored hash (a password changed elsewhere), a null password, an
 * expired entry, a full cache, a TTL of zero (off), and forgetting a user spelled in another case.
 */
class VerifiedCredentialsTest {
  private final SettableClock clock = new SettableClock();

  /** Its own clock: the shared test clock's offset is JVM-wide, and this test has no reason to move it. */
  private static final class SettableClock extends Clock {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

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

  private VerifiedCredentials cache(Duration ttl, int size) {
    return new VerifiedCredentials(clock, new SecurityProperties(10, Duration.ofMinutes(1), 3650, ttl, size, java.util.List.of(), false));
  }

  @Test
  void onlyTheExactUserPasswordAndStoredHashMatch() {
    VerifiedCredentials c = cache(Duration.ofSeconds(60), 100);
    c.remember("ab", "cdefghijklmn", "$2a$hash1");
    assertThat(c.verified("ab", "cdefghijklmn", "$2a$hash1")).isTrue();
    assertThat(c.verified("a", "bcdefghijklmn", "$2a$hash1")).as("boundary shifted").isFalse();
    assertThat(c.verified("abc", "defghijklmn", "$2a$hash1")).as("boundary shifted").isFalse();
    assertThat(c.verified("ab", "cdefghijklmn", "$2a$hash2")).as("password changed").isFalse();
    assertThat(c.verified("ab", "cdefghijklmnX", "$2a$hash1")).isFalse();
    assertThat(c.verified("ab", null, "$2a$hash1")).isFalse();
    c.remember("ab", null, "$2a$hash1");
    assertThat(c.size()).isEqualTo(1);
  }

  @Test
  void entriesExpireAreForgottenAndAreBounded() {
    VerifiedCredentials c = cache(Duration.ofSeconds(60), 2);
    c.remember("ann", "password-one", "h1");
    clock.advance(Duration.ofSeconds(59));
    assertThat(c.verified("ann", "password-one", "h1")).isTrue();
    clock.advance(Duration.ofSeconds(1));
    assertThat(c.verified("ann", "password-one", "h1")).as("expired").isFalse();

    c.remember("ann", "password-one", "h1");
    c.remember("bob", "password-two", "h2");
    c.remember("cid", "password-three", "h3");
    assertThat(c.verified("cid", "password-three", "h3")).as("full: not remembered").isFalse();
    assertThat(c.size()).isEqualTo(2);
    c.forget("ANN");
    assertThat(c.verified("ann", "password-one", "h1")).isFalse();
    c.remember("cid", "password-three", "h3");
    assertThat(c.verified("cid", "password-three", "h3")).isTrue();
    clock.advance(Duration.ofSeconds(61));
    c.remember("dan", "password-four", "h4");
    assertThat(c.size()).as("expired entries made room").isEqualTo(1);
  }

  @Test
  void aTtlOfZeroCachesNothing() {
    VerifiedCredentials c = cache(Duration.ZERO, 100);
    c.remember("ann", "password-one", "h1");
    assertThat(c.verified("ann", "password-one", "h1")).isFalse();
    assertThat(c.size()).isZero();
  }
}
