package dev.nightshift.server.security;

import dev.nightshift.server.system.Times;
import java.time.Instant;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Users of the admin API and dashboard. */
@Repository
class UserRepository {
  private final JdbcClient jdbc;

  UserRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  record UserRow(String username, String passwordHash, Role role, boolean enabled) {}

  Optional<UserRow> find(String username) {
    return jdbc.sql("SELECT username, password_hash, role, enabled FROM app_user WHERE username = ?")
        .param(username)
        .query(
            (rs, n) ->
                new UserRow(
                    rs.getString(1), rs.getString(2), Role.valueOf(rs.getString(3)), rs.getBoolean(4)))
        .optional();
  }

  void insert(String username, String passwordHash, Role role, Instant now) {
    jdbc.sql("INSERT INTO app_user (username, password_hash, role, enabled, created_at) VALUES (?, ?, ?, TRUE, ?)")
        .params(username, passwordHash, role.name(), Times.db(now))
        .update();
  }

  void updatePassword(String username, String passwordHash) {
    jdbc.sql("UPDATE app_user SET password_hash = ? WHERE username = ?").params(passwordHash, username).update();
  }
}
