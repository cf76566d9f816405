package dev.nightshift.server.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/** Authenticates agents by their bearer token, looked up by its SHA-256 hash; a revoked worker's token fails. */
class AgentTokenFilter extends OncePerRequestFilter {
  private final JdbcClient jdbc;

  AgentTokenFilter(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String header = request.getHeader("Authorization");
    if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      String token = header.substring(7).trim();
      if (token.startsWith(Tokens.AGENT)) {
        lookup(token)
            .ifPresent(
                principal ->
                    SecurityContextHolder.getContext()
                        .setAuthentication(
                            UsernamePasswordAuthenticationToken.authenticated(
                                principal, null, List.of(new SimpleGrantedAuthority("ROLE_AGENT")))));
      }
    }
    chain.doFilter(request, response);
  }

  private Optional<AgentPrincipal> lookup(String token) {
    return jdbc.sql("SELECT id, name FROM worker WHERE token_hash = ? AND revoked_at IS NULL")
        .param(Tokens.sha256(token))
        .query((rs, n) -> new AgentPrincipal(rs.getString(1), rs.getString(2)))
        .optional();
  }
}
