package dev.nightshift.server.security;

import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.stereotype.Service;

/**
 * Users of the API and dashboard: create, change password or role, disable, delete. Passwords are bcrypt; the
 * last enabled ADMIN can be neither demoted, disabled nor deleted (a server nobody can administer is lost).
 */
@Service
class UserService {
  static final int MIN_PASSWORD = 12;
  static final int MAX_PASSWORD_BYTES = 72;
  private final JdbcClient jdbc;
  private final PasswordEncoder encoder;
  private final Transactions tx;
  private final Clock clock;
  private final VerifiedCredentials verified;

  UserService(
      JdbcClient jdbc, PasswordEncoder encoder, Transactions tx, Clock clock, VerifiedCredentials verified) {
    this.jdbc = jdbc;
    this.encoder = encoder;
    this.tx = tx;
    this.clock = clock;
    this.verified = verified;
  }

  record UserView(String username, Role role, boolean enabled, Instant createdAt) {}

  List<UserView> list() {
    return jdbc.sql("SELECT username, role, enabled, created_at FROM app_user ORDER BY username")
        .query(
            (rs, n) ->
                new UserView(
                    rs.getString(1), Role.valueOf(rs.getString(2)), rs.getBoolean(3), Times.instant(rs, "created_at")))
        .list();
  }

  UserView get(String username) {
    return list().stream()
        .filter(u -> u.username().equals(username))
        .findFirst()
        .orElseThrow(() -> ProblemException.notFound("user", username));
  }

  UserView create(String username, String password, Role role) {
    if (username == null || !username.matches("[A-Za-z0-9_.@-]{1,100}")) {
      throw ProblemException.badRequest(
          "username must be 1-100 letters, digits, '_', '.', '@' or '-' (got " + quote(username) + ")");
    }
    checkPassword(password);
    if (role == null) {
      throw ProblemException.badRequest("role is required: ADMIN or OPERATOR");
    }
    int exists = jdbc.sql("SELECT COUNT(*) FROM app_user WHERE username = ?").param(username).query(Integer.class).single();
    if (exists > 0) {
      throw ProblemException.conflict("user " + username + " already exists: change it with PATCH /api/v1/users/" + username);
    }
    try {
      jdbc.sql("INSERT INTO app_user (username, password_hash, role, enabled, created_at) VALUES (?, ?, ?, TRUE, ?)")
          .params(username, encoder.encode(password), role.name(), Times.db(clock.instant()))
          .update();
    } catch (org.springframework.dao.DuplicateKeyException raced) { // created by another request meanwhile
      throw ProblemException.conflict(
          "user " + username + " already exists: change it with PATCH /api/v1/users/" + username);
    }
    return get(username);
  }

  /** Changes whatever is not null; refuses to leave the server without an enabled admin. */
  UserView update(String username, String password, Role role, Boolean enabled) {
    if (password != null) {
      checkPassword(password);
    }
    tx.run(
        () -> {
          UserView current = lockUser(username);
          boolean staysAdmin =
              (role == null ? current.role() : role) == Role.ADMIN
                  && (enabled == null ? current.enabled() : enabled);
          if (current.role() == Role.ADMIN && current.enabled() && !staysAdmin) {
            requireAnotherAdmin(username);
          }
          if (password != null) {
            jdbc.sql("UPDATE app_user SET password_hash = ? WHERE username = ?")
                .params(encoder.encode(password), username)
                .update();
          }
          if (role != null) {
            jdbc.sql("UPDATE app_user SET role = ? WHERE username = ?").params(role.name(), username).update();
          }
          if (enabled != null) {
            jdbc.sql("UPDATE app_user SET enabled = ? WHERE username = ?").params(enabled, username).update();
          }
        });
    // Not needed for correctness (the stored hash is part of the cache key; role and enabled are read at every
    // call), but a changed user's verified passwords have no reason to stay in memory.
    verified.forget(username);
    return get(username);
  }

  /** Deletes a user and revokes its API tokens. */
  void delete(String username) {
    tx.run(
        () -> {
          UserView current = lockUser(username);
          if (current.role() == Role.ADMIN && current.enabled()) {
            requireAnotherAdmin(username);
          }
          jdbc.sql("UPDATE api_token SET revoked_at = COALESCE(revoked_at, ?) WHERE username = ?")
              .params(Times.db(clock.instant()), username)
              .update();
          jdbc.sql("DELETE FROM app_user WHERE username = ?").param(username).update();
        });
    verified.forget(username);
  }

  private UserView lockUser(String username) {
    return jdbc.sql("SELECT username, role, enabled, created_at FROM app_user WHERE username = ? FOR UPDATE")
        .param(username)
        .query(
            (rs, n) ->
                new UserView(
                    rs.getString(1), Role.valueOf(rs.getString(2)), rs.getBoolean(3), Times.instant(rs, "created_at")))
        .optional()
        .orElseThrow(() -> ProblemException.notFound("user", username));
  }

  private void requireAnotherAdmin(String username) {
    // Locks the other admins' rows, so two admins cannot demote each other at the same moment.
    List<String> others =
        jdbc.sql(
                "SELECT username FROM app_user WHERE role = 'ADMIN' AND enabled AND username <> ? ORDER BY id FOR UPDATE")
            .param(username)
            .query(String.class)
            .list();
    if (others.isEmpty()) {
      throw ProblemException.conflict(
          username + " is the last enabled ADMIN: create or enable another admin first, so the server keeps one");
    }
  }

  private static void checkPassword(String password) {
    String problem = passwordProblem(password);
    if (problem != null) {
      throw ProblemException.badRequest(problem);
    }
  }

  /**
   * What is wrong with a password, or null: at least {@value #MIN_PASSWORD} characters and at most
   * {@value #MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt reads no more; letters outside ASCII take 2 to 4 bytes).
   */
  static String passwordProblem(String password) {
    if (password == null || password.length() < MIN_PASSWORD) {
      return "password must be at least " + MIN_PASSWORD + " characters";
    }
    int bytes = password.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (bytes > MAX_PASSWORD_BYTES) {
      return "password must be at most " + MAX_PASSWORD_BYTES + " bytes in UTF-8 (bcrypt reads no more; letters"
          + " outside ASCII take 2 to 4 bytes each): this one is " + bytes + " bytes";
    }
    return dev.nightshift.server.system.Text.textProblem("password", password);
  }

  private static String quote(String s) {
    return s == null ? "nothing" : "'" + s + "'";
  }
}
