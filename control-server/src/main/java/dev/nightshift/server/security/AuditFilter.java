package dev.nightshift.server.security;

import dev.nightshift.protocol.AgentPaths;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerMapping;

/**
 * Records every state-changing request a user makes — API writes, dashboard actions, Git pushes — in the audit
 * trail, whatever endpoint it reaches: a new endpoint cannot forget to audit. Runs inside the security chains
 * (after authentication and authorization), so only requests that reached the application are recorded; the
 * action is the method and the endpoint's pattern, the target the concrete path (or the created resource).
 */
@Component
class AuditFilter extends OncePerRequestFilter {
  private static final Logger log = LoggerFactory.getLogger(AuditFilter.class);
  private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS", "TRACE");
  private final AuditLog audit;

  AuditFilter(AuditLog audit) {
    this.audit = audit;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    Authentication who = SecurityContextHolder.getContext().getAuthentication();
    try {
      chain.doFilter(request, response);
    } finally {
      if (audited(request)) {
        if (who == null || who instanceof AnonymousAuthenticationToken) {
          who = SecurityContextHolder.getContext().getAuthentication();
        }
        if (who != null && who.isAuthenticated() && !(who instanceof AnonymousAuthenticationToken)
            && !(who.getPrincipal() instanceof AgentPrincipal)) {
          write(request, response, who);
        }
      }
    }
  }

  private static boolean audited(HttpServletRequest request) {
    if (READS.contains(request.getMethod())) {
      return false;
    }
    String uri = request.getRequestURI();
    if (uri.startsWith(AgentPaths.PREFIX + "/") || uri.equals("/login") || uri.equals("/logout")) {
      return false;
    }
    return uri.startsWith("/api/") || uri.startsWith("/ui/") || isPush(request);
  }

  private static boolean isPush(HttpServletRequest request) {
    return request.getRequestURI().startsWith("/git/") && request.getRequestURI().endsWith("/git-receive-pack");
  }

  private void write(HttpServletRequest request, HttpServletResponse response, Authentication who) {
    try {
      String via;
      if (who.getDetails() instanceof ApiTokenFilter.ApiTokenDetails token) {
        via = "api-token:" + token.tokenId();
      } else if (request.getRequestURI().startsWith("/ui/")) {
        via = "dashboard";
      } else if (isPush(request)) {
        via = "git";
      } else {
        via = "password";
      }
      Object pattern = request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
      String action =
          isPush(request)
              ? "git push"
              : request.getMethod() + " " + (pattern != null ? pattern : request.getRequestURI());
      String location = response.getHeader("Location");
      String target =
          location != null && !location.contains("/login") && !request.getRequestURI().startsWith("/ui/")
              ? location
              : request.getRequestURI();
      Object outcome = request.getAttribute(AuditLog.OUTCOME);
      int status = response.getStatus();
      String said =
          outcome != null ? outcome.toString() : status < 400 ? "done" : "refused (HTTP " + status + ")";
      audit.record(who.getName(), via, action, target, status, said, request.getRemoteAddr());
    } catch (RuntimeException e) {
      log.error("could not write the audit entry of {} {} by {}", request.getMethod(), request.getRequestURI(),
          who.getName(), e);
    }
  }
}
