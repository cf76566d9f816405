package dev.nightshift.server.security;

import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.stereotype.Service;

/**
 * API tokens for scripts and CI ({@code Authorization: Bearer nst_…} on {@code /api/**}). A token acts as its owner
 * with the role chosen at creation, never above the owner's current role; a disabled or deleted owner's tokens stop
 * working. Shown once at creation; only the SHA-256 is stored. Looked up in the database at every request: a
 * revocation takes effect at once.
 */
@Service
public class ApiTokens {
  private static final Duration LAST_USED_PRECISION = Duration.ofMinutes(1);
  private final JdbcClient jdbc;
  private final Clock clock;
  private final SecurityProperties properties;
  private final dev.nightshift.server.system.Transactions tx;

  ApiTokens(
      JdbcClient jdbc, Clock clock, SecurityProperties properties, dev.nightshift.server.system.Transactions tx) {
    this.jdbc = jdbc;
    this.tx = tx;
    this.clock = clock;
    this.properties = properties;
  }

  /** What a valid token authenticates as. */
  record TokenPrincipal(long tokenId, String username, Role role) {}

  private record Found(TokenPrincipal principal, Instant lastUsedAt) {}

  @io.swagger.v3.oas.annotations.media.Schema(name = "ApiTokenCreated") // OpenAPI: one schema name per type
  record Created(long id, String name, String username, Role role, Instant expiresAt, String token) {}

  @io.swagger.v3.oas.annotations.media.Schema(name = "ApiToken")
  record TokenView(
      long id,
      String name,
      String username,
      Role role,
      String createdBy,
      Instant createdAt,
      Instant expiresAt,
      Instant lastUsedAt,
      Instant revokedAt,
      boolean active) {}

  Created create(String name, String owner, Role requested, Long expiresInDays, String createdBy) {
    if (name == null || name.isBlank() || name.length() > 200) {
      throw ProblemException.badRequest("name is required (up to 200 characters): say what the token is for");
    }
    UserRepository.UserRow user =
        jdbc.sql("SELECT username, password_hash, role, enabled FROM app_user WHERE username = ?")
            .param(owner)
            .query(
                (rs, n) ->
                    new UserRepository.UserRow(
                        rs.getString(1), rs.getString(2), Role.valueOf(rs.getString(3)), rs.getBoolean(4)))
            .optional()
            .orElseThrow(() -> ProblemException.notFound("user", owner));
    if (!user.enabled()) {
      throw ProblemException.conflict("user " + owner + " is disabled: enable it before giving it tokens");
    }
    if (user.role() == Role.ADMIN && !owner.equals(createdBy)) {
      // a token acts as its owner: one admin minting tokens in another admin's name would act as that admin
      throw new ProblemException(
          org.springframework.http.HttpStatus.FORBIDDEN,
          "Not your token to make",
          "user " + owner + " is an ADMIN: only " + owner + " may create API tokens owned by " + owner
              + " (create one for yourself, or for an OPERATOR)");
    }
    Role role = requested == null ? user.role() : requested;
    if (role == Role.ADMIN && user.role() != Role.ADMIN) {
      throw ProblemException.badRequest(
          "a token cannot have more rights than its owner: " + owner + " is " + user.role());
    }
    if (expiresInDays != null && (expiresInDays < 1 || expiresInDays > properties.apiTokenMaxDays())) {
      throw ProblemException.badRequest(
          "expiresInDays must be between 1 and " + properties.apiTokenMaxDays() + " (or left out for no expiry)");
    }
    String token = Tokens.newToken(Tokens.API);
    Instant now = clock.instant();
    Instant expires = expiresInDays == null ? null : now.plus(Duration.ofDays(expiresInDays));
    var keys = new GeneratedKeyHolder();
    jdbc.sql(
            """
            INSERT INTO api_token (token_hash, name, username, role, created_by, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)""")
        .params(Tokens.sha256(token), name.strip(), owner, role.name(), createdBy, Times.db(now), Times.db(expires))
        .update(keys);
    return new Created(keys.getKey().longValue(), name.strip(), owner, role, expires, token);
  }

  List<TokenView> list() {
    Instant now = clock.instant();
    return jdbc.sql(
            """
            SELECT t.id, t.name, t.username, t.role, t.created_by, t.created_at, t.expires_at, t.last_used_at,
              t.revoked_at, u.enabled
            FROM api_token t LEFT JOIN app_user u ON u.username = t.username ORDER BY t.id DESC""")
        .query(
            (rs, n) -> {
              Instant expires = Times.instant(rs, "expires_at");
              Instant revoked = Times.instant(rs, "revoked_at");
              boolean active =
                  revoked == null && (expires == null || expires.isAfter(now)) && rs.getBoolean("enabled");
              return new TokenView(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getString(3),
                  Role.valueOf(rs.getString(4)),
                  rs.getString(5),
                  Times.instant(rs, "created_at"),
                  expires,
                  Times.instant(rs, "last_used_at"),
                  revoked,
                  active);
            })
        .list();
  }

  void revoke(long id) {
    int n =
        jdbc.sql("UPDATE api_token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
            .params(Times.db(clock.instant()), id)
            .update();
    if (n == 0) {
      throw ProblemException.notFound("API token", id);
    }
  }

  /** The principal of a presented token, if it is known, not revoked, not expired and its owner is enabled. */
  Optional<TokenPrincipal> lookup(String token) {
    if (token == null || !token.startsWith(Tokens.API)) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    Optional<Found> found =
        jdbc.sql(
                """
                SELECT t.id, t.username, t.role, u.role, t.last_used_at
                FROM api_token t JOIN app_user u ON u.username = t.username
                WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)
                  AND u.enabled""")
            .params(Tokens.sha256(token), Times.db(now))
            .query(
                (rs, n) -> {
                  Role tokenRole = Role.valueOf(rs.getString(3));
                  Role ownerRole = Role.valueOf(rs.getString(4));
                  // Never above the owner's current role: a demoted owner's admin token acts as an operator.
                  Role role = ownerRole == Role.ADMIN ? tokenRole : Role.OPERATOR;
                  return new Found(
                      new TokenPrincipal(rs.getLong(1), rs.getString(2), role), Times.instant(rs, "last_used_at"));
                })
            .optional();
    // lastUsedAt is kept to the minute: no statement at all when the row read above is recent enough; the
    // condition in the UPDATE keeps two instances (or two threads) racing for it to one write.
    Instant stale = now.minus(LAST_USED_PRECISION);
    if (found.isPresent() && (found.get().lastUsedAt() == null || found.get().lastUsedAt().isBefore(stale))) {
      // Retried after a lost race (on a Galera cluster: every instance's node certifies the same row); a write that
      // still loses does not fail the call it only keeps a note of: the next call a minute on writes it.
      try {
        tx.run(() -> jdbc.sql(
                "UPDATE api_token SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
            .params(Times.db(now), found.get().principal().tokenId(), Times.db(stale))
            .update());
      } catch (RuntimeException e) {
        if (!dev.nightshift.server.system.Transactions.isRetryable(e)) {
          throw e;
        }
      }
    }
    return found.map(Found::principal);
  }
}
