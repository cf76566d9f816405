package dev.nightshift.server.security;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.stereotype.Component;

/**
 * Passwords that passed bcrypt recently, so a script calling the API many times a second pays bcrypt (~70 ms) once
 * per {@code credentialCacheTtl} instead of at every call. An entry is only the fact "this password matched this
 * stored bcrypt hash of this user", keyed by HMAC-SHA-256 under a random key made at start and never stored: the
 * password is never kept, and a memory dump does not let anyone test guesses offline without the key. Because the
 * stored hash is part of the key, a password changed anywhere (on any server instance) stops matching at once; the
 * role and enabled flag are never cached at all (the user's row is read at every call). Only successes are cached.
 */
@Component
class VerifiedCredentials {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Clock clock;
  private final Duration ttl;
  private final int maxEntries;
  private final SecretKeySpec key;
  private final Map<ByteBuffer, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong bcryptChecks = new AtomicLong();

  private record Entry(String username, Instant expiresAt) {}

  VerifiedCredentials(Clock clock, SecurityProperties properties) {
    this.clock = clock;
    this.ttl = properties.credentialCacheTtl();
    this.maxEntries = properties.credentialCacheSize();
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    this.key = new SecretKeySpec(secret, "HmacSHA256");
  }

  /** Whether this user's password was verified against this stored hash within the TTL. */
  boolean verified(String username, String password, String storedHash) {
    if (!enabled() || password == null || storedHash == null) {
      return false;
    }
    ByteBuffer k = key(username, password, storedHash);
    Entry e = entries.get(k);
    if (e == null) {
      return false;
    }
    if (!e.expiresAt().isAfter(clock.instant())) {
      entries.remove(k, e);
      return false;
    }
    return true;
  }

  /** Records a successful bcrypt check. When full, expired entries go; if none did, nothing is added. */
  void remember(String username, String password, String storedHash) {
    if (!enabled() || password == null || storedHash == null) {
      return;
    }
    Instant now = clock.instant();
    if (entries.size() >= maxEntries) {
      entries.values().removeIf(e -> !e.expiresAt().isAfter(now));
      if (entries.size() >= maxEntries) {
        return; // only verified passwords get here, so this means many real users: they pay bcrypt, nothing breaks
      }
    }
    entries.put(key(username, password, storedHash), new Entry(username, now.plus(ttl)));
  }

  /** Forgets every verified password of this user (its password, role or enabled flag changed, or it was deleted). */
  void forget(String username) {
    // Ignoring case: the database finds users case-insensitively, so forgetting more is the safe side.
    entries.values().removeIf(e -> e.username().equalsIgnoreCase(username));
  }

  /** Counts a bcrypt comparison the cache could not spare. */
  void countBcryptCheck() {
    bcryptChecks.incrementAndGet();
  }

  /** How many bcrypt comparisons of presented passwords ran since start (tests, diagnostics). */
  long bcryptChecks() {
    return bcryptChecks.get();
  }

  int size() {
    return entries.size();
  }

  private boolean enabled() {
    return !ttl.isNegative() && !ttl.isZero() && maxEntries > 0;
  }

  /** HMAC-SHA-256 of the three values, each length-prefixed so no two different triples give the same input. */
  private ByteBuffer key(String username, String password, String storedHash) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      for (String part : new String[] {username, password, storedHash}) {
        byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
        mac.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        mac.update(bytes);
      }
      return ByteBuffer.wrap(mac.doFinal());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
