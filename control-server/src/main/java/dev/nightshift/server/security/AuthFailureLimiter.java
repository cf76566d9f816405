package dev.nightshift.server.security;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Counts failed authentications per key — a source address and the identity presented from it (see
 * {@code AuthFailureFilter}) — in fixed windows (in memory, per server instance): after {@code authFailureLimit}
 * failures within {@code authFailureWindow}, further attempts with that key are refused for a while. The first
 * lockout lasts one window; each further lockout of the same key doubles it (2, 4, … windows, at most
 * {@link #MAX_DOUBLINGS} doublings: an hour for a one-minute window), so a guesser gets ever fewer tries an hour;
 * a key that stays out of trouble for as long as its last lockout lasted, twice over, starts again at one window.
 * Enough to make guessing a user's password hopeless; not a defence against a distributed attack (put a proxy
 * with its own limits in front for that). Keying on the identity too means that one machine behind a NAT with a
 * wrong token does not lock every other machine there out, nor the right credentials of anyone else.
 */
@Component
public class AuthFailureLimiter {
  private static final Logger log = LoggerFactory.getLogger(AuthFailureLimiter.class);
  private static final int MAX_TRACKED = 100_000;
  /** The longest lockout is the window times 2^6. */
  static final int MAX_DOUBLINGS = 6;
  private final Clock clock;
  private final int limit;
  private final Duration window;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  AuthFailureLimiter(Clock clock, SecurityProperties properties) {
    this.clock = clock;
    this.limit = properties.authFailureLimit();
    this.window = properties.authFailureWindow();
  }

  /**
   * The current window of a key: when it started, its failures, whether it ended in a lockout; how many lockouts in
   * a row the key had and until when the last one lasts (null: never locked out).
   */
  private record Window(Instant start, int failures, boolean locked, int lockouts, Instant blockedUntil) {
    boolean blockedAt(Instant now) {
      return blockedUntil != null && blockedUntil.isAfter(now);
    }
  }

  /** How long this key must wait before it may try again; zero when it may try now. */
  public Duration blockedFor(String key) {
    Window w = windows.get(key);
    Instant now = clock.instant();
    if (w == null || !w.blockedAt(now)) {
      return Duration.ZERO;
    }
    return Duration.between(now, w.blockedUntil);
  }

  /** How long the {@code n}-th lockout in a row lasts: the window, doubled n - 1 times (capped). */
  Duration lockout(int n) {
    return window.multipliedBy(1L << Math.min(Math.max(n - 1, 0), MAX_DOUBLINGS));
  }

  /** Records one failed authentication with this key. */
  public void failed(String key) {
    Instant now = clock.instant();
    if (windows.size() > MAX_TRACKED) {
      windows.values().removeIf(w -> !w.start.plus(window).isAfter(now) && !w.blockedAt(now) && w.lockouts == 0);
      // (keys with a recent lockout stay while there is room: forgetting them would forgive them)
      if (windows.size() > MAX_TRACKED) { // many identities tried at once: keep the keys that are refused
        windows.values().removeIf(w -> !w.blockedAt(now));
      }
    }
    Window before = windows.get(key);
    Window w = windows.compute(key, (k, old) -> next(old, now));
    if (w.locked && w != before) {
      log.warn(
          "{} failed authentications by {} within {}: its attempts are refused for {} (lockout {} in a row)",
          limit, key, window, lockout(w.lockouts), w.lockouts);
    }
  }

  private Window next(Window old, Instant now) {
    if (old == null) {
      return limit <= 1 ? new Window(now, 1, true, 1, now.plus(lockout(1))) : new Window(now, 1, false, 0, null);
    }
    if (old.blockedAt(now)) {
      return old; // refused anyway; the lockout does not grow with attempts made while it lasts
    }
    // locked out recently (within twice the last lockout's length after it ended): the next lockout is longer
    boolean recent = old.lockouts > 0 && old.blockedUntil.plus(lockout(old.lockouts).multipliedBy(2)).isAfter(now);
    int lockouts = recent ? old.lockouts : 0;
    boolean fresh = old.locked || !old.start.plus(window).isAfter(now);
    Instant start = fresh ? now : old.start;
    int failures = fresh ? 1 : old.failures + 1;
    if (failures >= limit) {
      return new Window(start, failures, true, lockouts + 1, now.plus(lockout(lockouts + 1)));
    }
    return new Window(start, failures, false, lockouts, old.blockedUntil);
  }

  /** Forgets every address (tests). */
  public void reset() {
    windows.clear();
  }
}
