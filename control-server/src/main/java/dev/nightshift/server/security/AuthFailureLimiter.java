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
 * failures within {@code authFailureWindow}, further attempts with that key are refused until the window ends.
 * Enough to make guessing a user's password hopeless; not a defence against a distributed attack (put a proxy
 * with its own limits in front for that). Keying on the identity too means that one machine behind a NAT with a
 * wrong token does not lock every other machine there out.
 */
@Component
public class AuthFailureLimiter {
  private static final Logger log = LoggerFactory.getLogger(AuthFailureLimiter.class);
  private static final int MAX_TRACKED = 100_000;
  private final Clock clock;
  private final int limit;
  private final Duration window;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  AuthFailureLimiter(Clock clock, SecurityProperties properties) {
    this.clock = clock;
    this.limit = properties.authFailureLimit();
    this.window = properties.authFailureWindow();
  }

  private record Window(Instant start, int failures) {}

  /** How long this key must wait before it may try again; zero when it may try now. */
  public Duration blockedFor(String key) {
    Window w = windows.get(key);
    if (w == null || w.failures < limit) {
      return Duration.ZERO;
    }
    Duration left = Duration.between(clock.instant(), w.start.plus(window));
    return left.isNegative() || left.isZero() ? Duration.ZERO : left;
  }

  /** Records one failed authentication with this key. */
  public void failed(String key) {
    Instant now = clock.instant();
    if (windows.size() > MAX_TRACKED) {
      windows.values().removeIf(w -> !w.start.plus(window).isAfter(now));
      if (windows.size() > MAX_TRACKED) { // many identities tried at once: keep the keys that are refused
        windows.values().removeIf(w -> w.failures < limit);
      }
    }
    Window w =
        windows.compute(
            key,
            (a, old) ->
                old == null || !old.start.plus(window).isAfter(now)
                    ? new Window(now, 1)
                    : new Window(old.start, old.failures + 1));
    if (w.failures == limit) {
      log.warn(
          "{} failed authentications by {} within {}: its attempts are refused until the window ends",
          limit, key, window);
    }
  }

  /** Forgets every address (tests). */
  public void reset() {
    windows.clear();
  }
}
