package dev.nightshift.server.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Authenticates scripts on the API by {@code Authorization: Bearer nst_…}: the token's owner, with the token's
 * role. Unknown, expired and revoked tokens leave the request anonymous, so it is refused with 401.
 */
class ApiTokenFilter extends OncePerRequestFilter {
  private final ApiTokens tokens;

  ApiTokenFilter(ApiTokens tokens) {
    this.tokens = tokens;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String header = request.getHeader("Authorization");
    if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      tokens
          .lookup(header.substring(7).trim())
          .ifPresent(
              p -> {
                var auth =
                    UsernamePasswordAuthenticationToken.authenticated(
                        p.username(), null, List.of(new SimpleGrantedAuthority("ROLE_" + p.role().name())));
                auth.setDetails(new ApiTokenDetails(p.tokenId()));
                SecurityContextHolder.getContext().setAuthentication(auth);
              });
    }
    chain.doFilter(request, response);
  }

  /** Marks an authentication made with an API token (the audit names the token). */
  record ApiTokenDetails(long tokenId) {}
}
