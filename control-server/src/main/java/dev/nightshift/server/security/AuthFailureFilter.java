package dev.nightshift.server.security;

import dev.nightshift.protocol.AgentPaths;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Rate-limits failed authentication per source address, in front of every security chain: API Basic and Bearer,
 * Git Basic, agent bearer tokens, agent enrollment and the dashboard's login form. An attempt is a request that
 * presents credentials; it failed when it was answered 401 (or the login form sent it back with an error).
 * Requests without credentials are never counted or refused here: they are refused by the chains anyway.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 20)
class AuthFailureFilter extends OncePerRequestFilter {
  private final AuthFailureLimiter limiter;
  private final JsonMapper json;

  AuthFailureFilter(AuthFailureLimiter limiter, JsonMapper json) {
    this.limiter = limiter;
    this.json = json;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    boolean login = "POST".equals(request.getMethod()) && "/login".equals(request.getRequestURI());
    boolean enrollment = "POST".equals(request.getMethod()) && AgentPaths.REGISTER.equals(request.getRequestURI());
    boolean attempt = request.getHeader("Authorization") != null || login || enrollment;
    if (!attempt || request.getDispatcherType() != DispatcherType.REQUEST) {
      chain.doFilter(request, response);
      return;
    }
    String address = request.getRemoteAddr();
    Duration wait = limiter.blockedFor(address);
    if (!wait.isZero()) {
      long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
      ProblemDetail body =
          ProblemDetail.forStatusAndDetail(
              HttpStatus.TOO_MANY_REQUESTS,
              "Too many failed authentications from " + address + ": try again in " + seconds
                  + " s, with the right credentials (check the user name, password or token).");
      body.setTitle("Too many failed authentications");
      response.setStatus(HttpStatus.TOO_MANY_REQUESTS.value());
      response.setHeader("Retry-After", String.valueOf(seconds));
      response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
      json.writeValue(response.getOutputStream(), body);
      return;
    }
    chain.doFilter(request, response);
    boolean failed =
        response.getStatus() == HttpStatus.UNAUTHORIZED.value()
            || (login && String.valueOf(response.getHeader("Location")).contains("error"));
    if (failed) {
      limiter.failed(address);
    }
  }
}
