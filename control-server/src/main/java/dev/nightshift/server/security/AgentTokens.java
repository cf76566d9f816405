package dev.nightshift.server.security;

import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/** Finds the worker an agent token belongs to (by its SHA-256 hash); revoked workers' tokens find nothing. */
@Component
public class AgentTokens {
  private final JdbcClient jdbc;

  AgentTokens(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  public Optional<AgentPrincipal> lookup(String token) {
    if (token == null || !token.startsWith(Tokens.AGENT)) {
      return Optional.empty();
    }
    return jdbc.sql("SELECT id, name FROM worker WHERE token_hash = ? AND revoked_at IS NULL")
        .param(Tokens.sha256(token))
        .query((rs, n) -> new AgentPrincipal(rs.getString(1), rs.getString(2)))
        .optional();
  }
}
