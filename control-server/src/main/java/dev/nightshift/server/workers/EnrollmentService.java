package dev.nightshift.server.workers;

import dev.nightshift.server.security.Tokens;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * Enrollment tokens: the standing one from {@code NIGHTSHIFT_ENROLLMENT_TOKEN} for scripted installs, and tokens
 * created by admins with an optional expiry and use limit. Only hashes are stored; a token is shown once.
 */
@Service
class EnrollmentService {
  private final JdbcClient jdbc;
  private final Clock clock;
  private final String standing;
  private final dev.nightshift.server.system.Transactions tx;

  EnrollmentService(
      JdbcClient jdbc, Clock clock, NightshiftProperties properties, dev.nightshift.server.system.Transactions tx) {
    this.jdbc = jdbc;
    this.tx = tx;
    this.clock = clock;
    this.standing = properties.enrollmentToken();
    seedStanding();
  }

  /** The least length of {@code NIGHTSHIFT_ENROLLMENT_TOKEN}. */
  static final int MIN_STANDING_LENGTH = 12;

  /** Refuses to start with a standing token that could be guessed. */
  static void checkStanding(String token) {
    if (token != null && !token.isBlank() && token.strip().length() < MIN_STANDING_LENGTH) {
      throw new IllegalStateException(
          "NIGHTSHIFT_ENROLLMENT_TOKEN is too short (" + token.strip().length() + " characters): use at least "
              + MIN_STANDING_LENGTH + " random characters, e.g. the output of 'openssl rand -hex 16'");
    }
  }

  /**
   * {@code NIGHTSHIFT_ENROLLMENT_TOKEN} only seeds a row of {@code enrollment_token} (hashed, no expiry, no use
   * limit), once: the row is what is checked, so an admin revokes the standing token like any other (its row is
   * listed as "NIGHTSHIFT_ENROLLMENT_TOKEN"), without a restart, and a restart with the same value does not bring
   * it back. A new value seeds a new row.
   */
  private void seedStanding() {
    if (standing == null || standing.isBlank()) {
      return;
    }
    checkStanding(standing);
    // Several instances starting at once on a cluster seed the same row: INSERT IGNORE, retried after a conflict.
    tx.run(() -> jdbc.sql(
            """
            INSERT IGNORE INTO enrollment_token (token_hash, description, created_by, created_at)
            VALUES (?, 'NIGHTSHIFT_ENROLLMENT_TOKEN', 'NIGHTSHIFT_ENROLLMENT_TOKEN', ?)""")
        .params(Tokens.sha256(standing.strip()), Times.db(clock.instant()))
        .update());
  }

  @io.swagger.v3.oas.annotations.media.Schema(name = "EnrollmentTokenCreated") // OpenAPI: one schema name per type
  record Created(long id, String token, Instant expiresAt, Integer maxUses) {}

  @io.swagger.v3.oas.annotations.media.Schema(name = "EnrollmentToken")
  record TokenView(
      long id,
      String description,
      String createdBy,
      Instant createdAt,
      Instant expiresAt,
      Integer maxUses,
      int uses,
      Instant revokedAt) {}

  Created create(String description, Duration validFor, Integer maxUses, String user) {
    if (maxUses != null && maxUses < 1) {
      throw ProblemException.badRequest("maxUses must be at least 1 (or left out for no limit)");
    }
    if (validFor != null && (validFor.isNegative() || validFor.isZero())) {
      throw ProblemException.badRequest("expiresInHours must be positive (or left out for no expiry)");
    }
    String token = Tokens.newToken(Tokens.ENROLLMENT);
    Instant now = clock.instant();
    Instant expires = validFor == null ? null : now.plus(validFor);
    return tx.inTransaction(() -> insert(token, description, user, now, expires, maxUses));
  }

  private Created insert(String token, String description, String user, Instant now, Instant expires,
      Integer maxUses) {
    var keys = new org.springframework.jdbc.support.GeneratedKeyHolder();
    jdbc.sql(
            """
            INSERT INTO enrollment_token (token_hash, description, created_by, created_at, expires_at, max_uses)
            VALUES (?, ?, ?, ?, ?, ?)""")
        .params(Tokens.sha256(token), description, user, Times.db(now), Times.db(expires), maxUses)
        .update(keys);
    return new Created(keys.getKey().longValue(), token, expires, maxUses);
  }

  List<TokenView> list() {
    return jdbc.sql(
            """
            SELECT id, description, created_by, created_at, expires_at, max_uses, uses, revoked_at
            FROM enrollment_token ORDER BY id DESC""")
        .query(
            (rs, n) ->
                new TokenView(
                    rs.getLong(1),
                    rs.getString(2),
                    rs.getString(3),
                    Times.instant(rs, "created_at"),
                    Times.instant(rs, "expires_at"),
                    rs.getObject(6, Integer.class),
                    rs.getInt(7),
                    Times.instant(rs, "revoked_at")))
        .list();
  }

  void revoke(long id) {
    int n =
        tx.inTransaction(() -> jdbc.sql("UPDATE enrollment_token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
            .params(Times.db(clock.instant()), id)
            .update());
    if (n == 0) {
      throw ProblemException.notFound("enrollment token", id);
    }
  }

  /** A token row that may still enroll an agent (parameters: the token's hash, now). */
  private static final String USABLE =
      """
      token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
        AND (max_uses IS NULL OR uses < max_uses)""";

  /**
   * Checks a presented token and counts its use; refuses with a reason the agent's owner can act on. The standing
   * token is a row like the others (seeded from {@code NIGHTSHIFT_ENROLLMENT_TOKEN}).
   *
   * @return when the token was created (a revoked worker's name enrolls again only with a token made after)
   */
  Instant redeem(String presented) {
    given(presented, "pass --enrollment-token-file (or --enrollment-token)");
    // The use counter is the row every enrolling agent writes: on a Galera cluster two instances' nodes certify
    // it at once. Inside the caller's transaction (WorkerService.register) the whole enrollment is tried again.
    int used =
        tx.inTransaction(() -> jdbc.sql("UPDATE enrollment_token SET uses = uses + 1 WHERE " + USABLE)
            .params(Tokens.sha256(presented), now())
            .update());
    if (used != 1) {
      throw unusable();
    }
    return jdbc.sql("SELECT created_at FROM enrollment_token WHERE token_hash = ?")
        .params(Tokens.sha256(presented))
        .query((rs, n) -> Times.instant(rs, "created_at"))
        .single();
  }

  /**
   * Checks a presented token without counting a use (the install scripts ask before they install anything, so a
   * wrong token fails the install cleanly); refuses exactly as {@link #redeem} would.
   */
  void check(String presented) {
    given(presented, "pass --token (or --token-file)");
    long usable =
        jdbc.sql("SELECT COUNT(*) FROM enrollment_token WHERE " + USABLE)
            .params(Tokens.sha256(presented), now())
            .query(Long.class)
            .single();
    if (usable == 0) {
      throw unusable();
    }
  }

  /** Refuses a missing token, saying how to give it. */
  private static void given(String presented, String howToGiveIt) {
    if (presented == null || presented.isBlank()) {
      throw refused("no enrollment token was given: " + howToGiveIt);
    }
  }

  private LocalDateTime now() {
    return Times.db(Times.instant(Times.db(clock.instant())));
  }

  private static ProblemException unusable() {
    return refused(
        "the enrollment token is unknown, expired, used up or revoked: ask an admin for a new one"
            + " (POST /api/v1/enrollment-tokens)");
  }

  private static ProblemException refused(String detail) {
    return new ProblemException(HttpStatus.UNAUTHORIZED, "Enrollment refused", detail);
  }
}
