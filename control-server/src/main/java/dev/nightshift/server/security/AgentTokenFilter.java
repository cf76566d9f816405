package dev.nightshift.server.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import dev.nightshift.protocol.AgentPaths;
import java.util.List;
import java.util.Optional;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Authenticates agents by their bearer token, looked up by its SHA-256 hash; a revoked worker's token fails. A
 * second agent process presenting an identity that another live process uses is refused with 409.
 */
class AgentTokenFilter extends OncePerRequestFilter {
  private final AgentTokens tokens;
  private final JsonMapper json;

  AgentTokenFilter(AgentTokens tokens, JsonMapper json) {
    this.tokens = tokens;
    this.json = json;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String header = request.getHeader("Authorization");
    if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      String token = header.substring(7).trim();
      Optional<AgentTokens.Caller> caller = tokens.find(token);
      if (caller.isPresent()) {
        Optional<AgentTokens.Refusal> refused =
            tokens.claimInstance(
                caller.get(),
                request.getHeader(AgentPaths.AGENT_INSTANCE_HEADER),
                request.getHeader(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER),
                request.getRemoteAddr());
        if (refused.isPresent()) {
          SecurityConfig.problem(
              json, response, HttpStatus.CONFLICT, refused.get().detail(), refused.get().reason());
          return;
        }
      }
      caller
          .map(AgentTokens.Caller::principal)
          .ifPresent(
                principal ->
                    SecurityContextHolder.getContext()
                        .setAuthentication(
                            UsernamePasswordAuthenticationToken.authenticated(
                                principal, null, List.of(new SimpleGrantedAuthority("ROLE_AGENT")))));
    }
    chain.doFilter(request, response);
  }
}
