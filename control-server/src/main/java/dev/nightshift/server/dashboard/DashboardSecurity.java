package dev.nightshift.server.dashboard;

import jakarta.servlet.DispatcherType;
import dev.nightshift.server.system.Problems;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import dev.nightshift.server.system.DatabaseOutage;
import java.nio.charset.StandardCharsets;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AuthenticationFailureHandler;
import org.springframework.security.web.authentication.SimpleUrlAuthenticationFailureHandler;
import org.springframework.security.web.csrf.CsrfException;
import org.springframework.security.web.header.writers.ReferrerPolicyHeaderWriter;
import org.springframework.security.web.savedrequest.HttpSessionRequestCache;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may use the dashboard: people log in with a form (the same users as the API), keep a session, and every
 * POST carries a CSRF token. OPERATOR reads everything; only ADMIN may act. Covers only the dashboard's paths;
 * the API and agent chains stay as they are.
 */
@Configuration(proxyBeanMethods = false)
class DashboardSecurity {
  /** Header the page script sends with its refresh requests (they must not become the after-login target). */
  static final String LIVE_HEADER = "X-Nightshift-Live";

  @Bean
  @Order(0)
  SecurityFilterChain dashboardChain(HttpSecurity http, JsonMapper json) throws Exception {
    HttpSessionRequestCache cache = new HttpSessionRequestCache();
    cache.setRequestMatcher(
        request -> "GET".equals(request.getMethod()) && request.getHeader(LIVE_HEADER) == null
            && request.getRequestURI().startsWith(request.getContextPath() + "/ui"));
    http.securityMatcher("/ui", "/ui/**", "/login", "/logout", "/assets/**", "/favicon.ico")
        .requestCache(c -> c.requestCache(cache))
        .authorizeHttpRequests(
            auth ->
                auth.dispatcherTypeMatchers(DispatcherType.ERROR, DispatcherType.FORWARD)
                    .permitAll()
                    .requestMatchers("/assets/**", "/login", "/favicon.ico")
                    .permitAll()
                    .requestMatchers("/ui/audit", "/ui/audit/**")
                    .hasRole("ADMIN") // what everyone did: admins only, as in the API
                    .requestMatchers(HttpMethod.GET, "/ui", "/ui/**")
                    .hasAnyRole("ADMIN", "OPERATOR")
                    .anyRequest()
                    .hasRole("ADMIN"))
        .formLogin(
            form ->
                form.loginPage("/login").defaultSuccessUrl("/ui", false).failureHandler(loginFailure()).permitAll())
        .logout(logout -> logout.logoutUrl("/logout").logoutSuccessUrl("/login?logout").permitAll())
        .headers(
            h ->
                h.referrerPolicy(r -> r.policy(ReferrerPolicyHeaderWriter.ReferrerPolicy.SAME_ORIGIN))
                    .frameOptions(f -> f.deny())
                    .contentSecurityPolicy(
                    csp ->
                        csp.policyDirectives(
                            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
                                + " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none';"
                                + " form-action 'self'")))
        .exceptionHandling(
            e ->
                e.accessDeniedHandler(
                    (req, res, ex) ->
                        refuse(
                            json,
                            req,
                            res,
                            ex instanceof CsrfException
                                ? "The form's CSRF token is missing or stale: reload the page and try again."
                                : "Your role may not do this: actions need the ADMIN role; OPERATOR is read-only.")));
    return http.build();
  }

  /**
   * Wrong credentials go back to the form with {@code ?error} (counted toward the lockout); credentials that could
   * not be checked because the database is unreachable with {@code ?unavailable} (not counted).
   */
  private static AuthenticationFailureHandler loginFailure() {
    SimpleUrlAuthenticationFailureHandler wrong = new SimpleUrlAuthenticationFailureHandler("/login?error");
    return (req, res, ex) -> {
      if (DatabaseOutage.isCause(ex)) {
        DatabaseOutage.noted(ex);
        res.sendRedirect(req.getContextPath() + "/login?unavailable");
        return;
      }
      wrong.onAuthenticationFailure(req, res, ex);
    };
  }

  /** A browser (it asks for HTML) gets a page; any other client the same refusal as problem+json. */
  static boolean wantsHtml(HttpServletRequest request) {
    String accept = request.getHeader("Accept");
    return accept != null && accept.contains("text/html");
  }

  private static void refuse(JsonMapper json, HttpServletRequest req, HttpServletResponse res, String detail)
      throws IOException {
    if (!wantsHtml(req)) {
      Problems.write(json, res, HttpStatus.FORBIDDEN, detail);
      return;
    }
    res.setStatus(HttpServletResponse.SC_FORBIDDEN);
    res.setContentType("text/html;charset=UTF-8");
    res.getOutputStream()
        .write(
            ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>403 Forbidden</title>"
                    + "<link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head><body><main class=\"narrow\">"
                    + "<h1>403 Forbidden</h1><p class=\"refused\">" + detail + "</p>"
                    + "<p><a href=\"/ui\">Back to the dashboard</a></p></main></body></html>")
                .getBytes(StandardCharsets.UTF_8));
  }
}
