package dev.nightshift.server.system;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Outermost filter: a database failure that escapes the filters (agent and API token lookups run in the security
 * filters, before Spring MVC and its error handling) becomes 503 problem+json with {@code Retry-After} instead of
 * Tomcat's 500. It runs outside {@code AuthFailureFilter}, so such a request is never counted as a failed
 * authentication.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 5)
class DatabaseOutageFilter extends OncePerRequestFilter {
  private final JsonMapper json;

  DatabaseOutageFilter(JsonMapper json) {
    this.json = json;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    try {
      chain.doFilter(request, response);
    } catch (ServletException | IOException | RuntimeException e) {
      if (response.isCommitted() || !DatabaseOutage.isCause(e)) {
        throw e;
      }
      DatabaseOutage.answer(response, json, e);
    }
  }
}
