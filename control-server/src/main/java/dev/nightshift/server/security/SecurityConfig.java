package dev.nightshift.server.security;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.server.system.DatabaseOutage;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import java.util.List;
import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.core.userdetails.UsernameNotFoundException;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.authentication.www.BasicAuthenticationFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may call what. Agents authenticate with their own bearer token on the agent protocol; people and scripts
 * with HTTP Basic on the admin API (ADMIN changes, OPERATOR reads). Refusals are problem+json that say why.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfig {

  /**
   * No Spring Security observations at all. {@code management.observations.enable.spring.security=false} only makes
   * them no-ops: every filter of every chain was still wrapped in an observing decorator, some 2 % of the server's
   * CPU samples with 5,000 agents (ScaleBenchmark). Nothing here reads them; the request metrics stay.
   */
  @Bean
  static org.springframework.security.config.observation.SecurityObservationSettings noSecurityObservations() {
    return org.springframework.security.config.observation.SecurityObservationSettings.noObservations();
  }

  @Bean
  PasswordEncoder passwordEncoder() {
    return new BCryptPasswordEncoder();
  }

  /**
   * Passwords of users, for the API, Git and the dashboard's login form (the one {@code AuthenticationProvider} bean,
   * so Spring Security makes it the global one). bcrypt runs once per user and password per cache TTL.
   */
  @Bean
  CachingPasswordProvider passwordProvider(
      UserRepository users, PasswordEncoder encoder, VerifiedCredentials verified) {
    return new CachingPasswordProvider(userDetails(users), encoder, verified);
  }

  private static UserDetailsService userDetails(UserRepository users) {
    return username ->
        users
            .find(username)
            .map(
                u ->
                    User.withUsername(u.username())
                        .password(u.passwordHash())
                        .roles(u.role().name())
                        .disabled(!u.enabled())
                        .build())
            .orElseThrow(() -> new UsernameNotFoundException("no such user"));
  }

  @Bean
  @Order(1)
  SecurityFilterChain agentChain(HttpSecurity http, AgentTokens tokens, JsonMapper json) throws Exception {
    http.securityMatcher(AgentPaths.PREFIX + "/**")
        .csrf(csrf -> csrf.disable())
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
        .requestCache(c -> c.disable())
        .addFilterBefore(new AgentTokenFilter(tokens, json), BasicAuthenticationFilter.class)
        .authorizeHttpRequests(
            auth ->
                auth.dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR)
                    .permitAll() // re-dispatches of requests already authorized (long-polled claims)
                    .requestMatchers(HttpMethod.POST, AgentPaths.REGISTER)
                    .permitAll()
                    .anyRequest()
                    .hasRole("AGENT"))
        .exceptionHandling(
            e ->
                e.authenticationEntryPoint(
                        (req, res, ex) ->
                            problem(
                                json,
                                res,
                                HttpStatus.UNAUTHORIZED,
                                "Agent token missing, unknown or revoked: enroll the agent again with"
                                    + " --enrollment-token (its data directory keeps the new identity)."))
                    .accessDeniedHandler(denied(json, "Only agents may call the agent protocol.")));
    return http.build();
  }

  /**
   * Git over HTTP: stock git clients send HTTP Basic after a 401 challenge. Users log in with their password; agents
   * with any user name and their agent token as the password. Pushing needs ADMIN; fetching any user or agent.
   */
  @Bean
  @Order(2)
  SecurityFilterChain gitChain(
      HttpSecurity http,
      AgentTokens tokens,
      CachingPasswordProvider passwords,
      JsonMapper json)
      throws Exception {
    AuthenticationProvider agentTokens =
        new AuthenticationProvider() {
          @Override
          public Authentication authenticate(Authentication authentication) {
            Object secret = authentication.getCredentials();
            return tokens
                .lookup(secret == null ? null : secret.toString())
                .map(
                    p ->
                        (Authentication)
                            UsernamePasswordAuthenticationToken.authenticated(
                                p, null, List.of(new SimpleGrantedAuthority("ROLE_AGENT"))))
                .orElse(null);
          }

          @Override
          public boolean supports(Class<?> type) {
            return UsernamePasswordAuthenticationToken.class.isAssignableFrom(type);
          }
        };
    RequestMatcher push =
        request ->
            request.getRequestURI().endsWith("/git-receive-pack")
                || "git-receive-pack".equals(request.getParameter("service"));
    http.securityMatcher("/git/**")
        .csrf(csrf -> csrf.disable())
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
        .requestCache(c -> c.disable())
        .authenticationManager(new ProviderManager(agentTokens, passwords))
        .httpBasic(
            basic ->
                basic.authenticationEntryPoint(
                    basicChallenge(
                        json,
                        "nightshift git",
                        "Git needs credentials: an admin user to push; a user, or any user name with an"
                            + " agent token as password, to fetch.")))
        .authorizeHttpRequests(
            auth ->
                auth.dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR)
                    .permitAll()
                    .requestMatchers(push)
                    .hasRole("ADMIN")
                    .anyRequest()
                    .authenticated())
        .exceptionHandling(
            e ->
                e.accessDeniedHandler(
                    denied(json, "Pushing code needs the ADMIN role; agents and operators may only fetch.")));
    return http.build();
  }

  /**
   * The agent downloads and install scripts (install/InstallController): open, since they carry nothing secret; the
   * enrollment-token check there reads the token itself (a refusal is a 401 the failure limit counts).
   */
  @Bean
  @Order(3)
  SecurityFilterChain installChain(HttpSecurity http) throws Exception {
    http.securityMatcher("/install/**")
        .csrf(csrf -> csrf.disable())
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
        .requestCache(c -> c.disable())
        .authorizeHttpRequests(auth -> auth.anyRequest().permitAll());
    return http.build();
  }

  @Bean
  @Order(10)
  SecurityFilterChain apiChain(HttpSecurity http, ApiTokens apiTokens, JsonMapper json) throws Exception {
    http.csrf(csrf -> csrf.ignoringRequestMatchers("/api/**")) // instead: BrowserWriteFilter
        .addFilterBefore(new BrowserWriteFilter(json), BasicAuthenticationFilter.class)
        .addFilterBefore(new ApiTokenFilter(apiTokens), BasicAuthenticationFilter.class)
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
        .requestCache(c -> c.disable())
        .httpBasic(
            basic ->
                basic.authenticationEntryPoint(
                    basicChallenge(
                        json,
                        "nightshift",
                        "Authentication required: use HTTP Basic with a Nightshift user (e.g. admin), or"
                            + " 'Authorization: Bearer nst_…' with an API token that is not expired or revoked.")))
        .authorizeHttpRequests(
            auth ->
                auth.dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR)
                    .permitAll() // re-dispatches of requests already authorized (streamed results)
                    .requestMatchers(
                        "/", "/actuator/health", "/actuator/health/**", "/actuator/info", "/error")
                    .permitAll()
                    .requestMatchers("/actuator/prometheus")
                    .hasAnyRole("ADMIN", "OPERATOR") // metrics: scrape with an operator's API token
                    .requestMatchers("/v3/api-docs", "/v3/api-docs/**", "/v3/api-docs.yaml", "/swagger-ui.html",
                        "/swagger-ui/**")
                    .hasAnyRole("ADMIN", "OPERATOR") // the OpenAPI document and Swagger UI: whoever may use the API
                    .requestMatchers(
                        "/api/v1/users", "/api/v1/users/**", "/api/v1/api-tokens", "/api/v1/api-tokens/**",
                        "/api/v1/audit", "/api/v1/audit/**")
                    .hasRole("ADMIN") // who may log in, and what everyone did: admins only, even to read
                    .requestMatchers(HttpMethod.GET, "/api/**")
                    .hasAnyRole("ADMIN", "OPERATOR")
                    .requestMatchers("/api/**")
                    .hasRole("ADMIN")
                    .anyRequest()
                    .authenticated())
        .exceptionHandling(
            e ->
                e.accessDeniedHandler(
                    denied(
                        json,
                        "Your role may not do this: changes need the ADMIN role; OPERATOR is read-only.")));
    return http.build();
  }

  /**
   * A 401 that challenges for HTTP Basic (so stock clients such as git send credentials) and says what to send; or
   * 503 when the credentials could not be checked because the database is unreachable (never 401 for credentials
   * that may be right, and not counted toward the lockout).
   */
  static AuthenticationEntryPoint basicChallenge(JsonMapper json, String realm, String detail) {
    return (req, res, ex) -> {
      if (DatabaseOutage.isCause(ex)) {
        DatabaseOutage.answer(res, json, ex);
        return;
      }
      res.setHeader("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
      problem(json, res, HttpStatus.UNAUTHORIZED, detail);
    };
  }

  /** A 403 problem saying why the role may not do this. */
  static AccessDeniedHandler denied(JsonMapper json, String detail) {
    return (req, res, ex) -> problem(json, res, HttpStatus.FORBIDDEN, detail);
  }

  static void problem(JsonMapper json, HttpServletResponse res, HttpStatus status, String detail)
      throws IOException {
    problem(json, res, status, detail, null);
  }

  /** A problem with a machine-readable {@code reason} property (null for none). */
  static void problem(JsonMapper json, HttpServletResponse res, HttpStatus status, String detail, String reason)
      throws IOException {
    org.springframework.http.ProblemDetail body = dev.nightshift.server.system.Problems.of(status, detail);
    if (reason != null) {
      body.setProperty("reason", reason);
    }
    dev.nightshift.server.system.Problems.write(json, res, body);
  }
}
