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
 * Rate-limits failed authentication per source address <em>and presented identity</em>, in front of every security
 * chain: API Basic and Bearer, Git Basic, agent bearer tokens, agent enrollment and the dashboard's login form. The
 * identity is the user name of a password (Basic, login form), a fingerprint of a bearer token (API or agent), or
 * "enrollment" for enrollment requests (their token is in the body). So the right credentials of others from the
 * same address (behind a NAT) are never refused for someone else's failures. An attempt is a request that presents
 * credentials; it failed when it was answered 401 (or the login form sent it back with an error). Requests without
 * credentials are never counted or refused here: they are refused by the chains anyway.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 20)
class AuthFailureFilter extends OncePerRequestFilter {
  private final AuthFailureLimiter limiter;
  private final JsonMapper json;
  private final AuditLog audit;

  AuthFailureFilter(AuthFailureLimiter limiter, JsonMapper json, AuditLog audit) {
    this.limiter = limiter;
    this.json = json;
    this.audit = audit;
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
    String identity = identity(request, login, enrollment);
    String key = address + " as " + identity;
    Duration wait = limiter.blockedFor(key);
    if (!wait.isZero()) {
      long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
      ProblemDetail body =
          ProblemDetail.forStatusAndDetail(
              HttpStatus.TOO_MANY_REQUESTS,
              "Too many failed authentications from " + address + " as " + identity + ": try again in " + seconds
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
      limiter.failed(key);
    }
    if (failed || (enrollment && response.getStatus() < 300)) {
      audited(request, response, identity, login, enrollment, failed);
    }
  }

  /**
   * Failed logins, failed authentications and every enrollment go to the audit trail (refusals while an address
   * and identity are blocked do not: the limiter bounds how many rows a guesser can write).
   */
  private void audited(
      HttpServletRequest request, HttpServletResponse response, String identity, boolean login, boolean enrollment,
      boolean failed) {
    try {
      String via = login ? "dashboard" : enrollment ? "enrollment" : identity.startsWith("token ") ? "token" : "password";
      String action = enrollment ? (failed ? "enrollment refused" : "enrolled") : (login ? "login failed" : "authentication failed");
      audit.record(identity, via, action, request.getRequestURI(), response.getStatus(),
          failed ? "refused (HTTP " + response.getStatus() + ")" : "done", request.getRemoteAddr());
    } catch (RuntimeException e) {
      logger.warn("could not write the audit entry of a " + (failed ? "failed" : "") + " authentication: " + e);
    }
  }

  /** Who the request claims to be: "user NAME", "token FINGERPRINT" or "enrollment" (never a secret). */
  static String identity(HttpServletRequest request, boolean login, boolean enrollment) {
    String header = request.getHeader("Authorization");
    if (header != null && header.regionMatches(true, 0, "Basic ", 0, 6)) {
      String user = "?";
      try {
        String decoded =
            new String(java.util.Base64.getDecoder().decode(header.substring(6).trim()),
                java.nio.charset.StandardCharsets.UTF_8);
        int colon = decoded.indexOf(':');
        user = colon < 0 ? decoded : decoded.substring(0, colon);
        String password = colon < 0 ? "" : decoded.substring(colon + 1);
        if (request.getRequestURI().startsWith("/git/") && password.startsWith(Tokens.AGENT)) {
          // agents fetch code with any user name and their token as the password: the token is the identity
          return "token " + fingerprint(password);
        }
      } catch (IllegalArgumentException e) {
        // not Base64: all such garbage shares one identity
      }
      return "user " + clip(user);
    }
    if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return "token " + fingerprint(header.substring(7).trim());
    }
    if (login) {
      return "user " + clip(String.valueOf(request.getParameter("username")));
    }
    return enrollment ? "enrollment" : "other";
  }

  /** The first 12 hex digits of the SHA-256 of a secret: tells tokens apart in logs without revealing them. */
  private static String fingerprint(String secret) {
    return Tokens.sha256(secret).substring(0, 12);
  }

  private static String clip(String s) {
    String clean = s.replaceAll("\\p{Cntrl}", "?");
    return clean.length() > 100 ? clean.substring(0, 100) : clean;
  }
}
