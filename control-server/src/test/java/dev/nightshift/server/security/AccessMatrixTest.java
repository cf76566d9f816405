package dev.nightshift.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.ReleaseRequest;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * Who may call what, for every endpoint the application registers: the MVC handler methods are enumerated from
 * {@link RequestMappingHandlerMapping} (so a new endpoint without an expectation fails this test), plus Git, health
 * and metrics, each called as every kind of caller and checked against its policy's expected outcome. Also the
 * fencing of agent reports: another agent's lease is 403, a stale token 409.
 */
@NightshiftTest
class AccessMatrixTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired AuthFailureLimiter limiter;

  @Autowired
  @Qualifier("requestMappingHandlerMapping")
  RequestMappingHandlerMapping mappings;

  /** Every kind of caller. */
  enum Who {
    ANONYMOUS,
    WRONG_PASSWORD,
    OPERATOR,
    ADMIN,
    ADMIN_API_TOKEN,
    OPERATOR_API_TOKEN,
    AGENT,
    ANOTHER_AGENT,
    REVOKED_AGENT
  }

  /** What a call must come to. */
  enum Outcome {
    /** Reached the application: anything but 401, 403, 429, a redirect to the login page or a server error. */
    ALLOWED,
    UNAUTHORIZED,
    FORBIDDEN,
    /** The dashboard sends the caller to its login page. */
    LOGIN,
    /** 5xx: expected only of the bare error page, which has no error to show. */
    SERVER_ERROR
  }

  /** How a family of endpoints treats each caller. */
  enum Policy {
    PUBLIC(all(Outcome.ALLOWED)),
    /** Open to all, but credentials that are presented must be right (the API chain checks them). */
    PUBLIC_CHECKED(merge(all(Outcome.ALLOWED), Who.WRONG_PASSWORD, Outcome.UNAUTHORIZED)),
    /** The error page, called directly: nothing to show (404 problem), wrong credentials 401. */
    ERROR_PAGE(merge(all(Outcome.ALLOWED), Who.WRONG_PASSWORD, Outcome.UNAUTHORIZED)),
    /** Agent enrollment: open to all, but the enrollment token in the body must be valid (here it is not). */
    ENROLL(all(Outcome.UNAUTHORIZED)),
    API_READ(
        users(Outcome.ALLOWED, Outcome.ALLOWED, Outcome.ALLOWED, Outcome.ALLOWED, Outcome.UNAUTHORIZED)),
    API_WRITE(
        users(Outcome.FORBIDDEN, Outcome.ALLOWED, Outcome.ALLOWED, Outcome.FORBIDDEN, Outcome.UNAUTHORIZED)),
    API_ADMIN(
        users(Outcome.FORBIDDEN, Outcome.ALLOWED, Outcome.ALLOWED, Outcome.FORBIDDEN, Outcome.UNAUTHORIZED)),
    AGENT(
        agents(Outcome.UNAUTHORIZED, Outcome.UNAUTHORIZED, Outcome.ALLOWED, Outcome.ALLOWED)),
    GIT_FETCH(
        agents(Outcome.ALLOWED, Outcome.UNAUTHORIZED, Outcome.ALLOWED, Outcome.ALLOWED)),
    GIT_PUSH(
        merge(
            agents(Outcome.FORBIDDEN, Outcome.UNAUTHORIZED, Outcome.FORBIDDEN, Outcome.FORBIDDEN),
            Who.ADMIN,
            Outcome.ALLOWED)),
    DASHBOARD_READ(dashboard(Outcome.LOGIN, Outcome.ALLOWED, Outcome.ALLOWED)),
    DASHBOARD_ADMIN_READ(dashboard(Outcome.LOGIN, Outcome.FORBIDDEN, Outcome.ALLOWED)),
    /** Without a session the CSRF check refuses first (403); with one, only ADMIN may act. */
    DASHBOARD_WRITE(dashboard(Outcome.FORBIDDEN, Outcome.FORBIDDEN, Outcome.ALLOWED));

    final Map<Who, Outcome> expected;

    Policy(Map<Who, Outcome> expected) {
      this.expected = expected;
    }

    private static Map<Who, Outcome> all(Outcome o) {
      Map<Who, Outcome> m = new EnumMap<>(Who.class);
      for (Who w : Who.values()) {
        m.put(w, o);
      }
      return m;
    }

    /** Users' endpoints; every agent (its token means nothing here) is {@code agent}. */
    private static Map<Who, Outcome> users(
        Outcome operator, Outcome admin, Outcome adminToken, Outcome operatorToken, Outcome agent) {
      Map<Who, Outcome> m = all(agent);
      m.put(Who.ANONYMOUS, Outcome.UNAUTHORIZED);
      m.put(Who.WRONG_PASSWORD, Outcome.UNAUTHORIZED);
      m.put(Who.OPERATOR, operator);
      m.put(Who.ADMIN, admin);
      m.put(Who.ADMIN_API_TOKEN, adminToken);
      m.put(Who.OPERATOR_API_TOKEN, operatorToken);
      return m;
    }

    /** Agents' endpoints (and Git): people as {@code user}, API tokens as {@code token}; revoked agents 401. */
    private static Map<Who, Outcome> agents(Outcome user, Outcome token, Outcome agent, Outcome anotherAgent) {
      Map<Who, Outcome> m = all(Outcome.UNAUTHORIZED);
      m.put(Who.OPERATOR, user);
      m.put(Who.ADMIN, user);
      m.put(Who.ADMIN_API_TOKEN, token);
      m.put(Who.OPERATOR_API_TOKEN, token);
      m.put(Who.AGENT, agent);
      m.put(Who.ANOTHER_AGENT, anotherAgent);
      return m;
    }

    private static Map<Who, Outcome> dashboard(Outcome others, Outcome operator, Outcome admin) {
      Map<Who, Outcome> m = all(others);
      m.put(Who.OPERATOR, operator);
      m.put(Who.ADMIN, admin);
      return m;
    }

    private static Map<Who, Outcome> merge(Map<Who, Outcome> m, Who who, Outcome o) {
      m.put(who, o);
      return m;
    }
  }

  /**
   * The expectation for every MVC endpoint, as {@code METHOD pattern}. A new endpoint must be added here, with the
   * policy it is meant to have.
   */
  static final Map<String, Policy> MVC =
      new TreeMap<>(
          Map.ofEntries(
              Map.entry("GET /", Policy.PUBLIC_CHECKED),
              Map.entry("GET /error", Policy.ERROR_PAGE),
              Map.entry("GET /login", Policy.PUBLIC),
              // the agent protocol
              Map.entry("POST " + AgentPaths.REGISTER, Policy.ENROLL),
              // agent downloads: open; the token check refuses every credential but an enrollment token
              Map.entry("GET /install/nightshift-agent.jar", Policy.PUBLIC),
              Map.entry("GET /install/nightshift-agent.jar.sha256", Policy.PUBLIC),
              Map.entry("GET /install/nightshift-agent-runtime-linux-x64.tar.gz", Policy.PUBLIC),
              Map.entry("GET /install/nightshift-agent-runtime-linux-x64.tar.gz.sha256", Policy.PUBLIC),
              Map.entry("GET /install/manifest.json", Policy.PUBLIC),
              Map.entry("GET /install/{script:[a-z\\-]+\\.(?:sh|ps1)}", Policy.PUBLIC),
              Map.entry("POST /install/enrollment-check", Policy.ENROLL),
              Map.entry("POST " + AgentPaths.HEARTBEAT, Policy.AGENT),
              Map.entry("POST " + AgentPaths.CLAIM, Policy.AGENT),
              Map.entry("POST " + AgentPaths.COMPLETE, Policy.AGENT),
              Map.entry("POST " + AgentPaths.FAIL, Policy.AGENT),
              Map.entry("POST " + AgentPaths.RELEASE, Policy.AGENT),
              // jobs, batches, results
              Map.entry("POST /api/v1/jobs", Policy.API_WRITE),
              Map.entry("GET /api/v1/jobs", Policy.API_READ),
              Map.entry("GET /api/v1/jobs/{id}", Policy.API_READ),
              Map.entry("POST /api/v1/jobs/{id}/cancel", Policy.API_WRITE),
              Map.entry("POST /api/v1/jobs/{id}/pause", Policy.API_WRITE),
              Map.entry("POST /api/v1/jobs/{id}/resume", Policy.API_WRITE),
              Map.entry("POST /api/v1/jobs/{id}/retry", Policy.API_WRITE),
              Map.entry("GET /api/v1/jobs/{id}/batches", Policy.API_READ),
              Map.entry("GET /api/v1/batches/{id}", Policy.API_READ),
              Map.entry("GET /api/v1/jobs/{id}/results", Policy.API_READ),
              Map.entry("GET /api/v1/jobs/{id}/failures", Policy.API_READ),
              Map.entry("GET /api/v1/jobs/{id}/wait-reasons", Policy.API_READ),
              // code
              Map.entry("GET /api/v1/code", Policy.API_READ),
              Map.entry("POST /api/v1/code/promotions", Policy.API_WRITE),
              // workers and enrollment
              Map.entry("GET /api/v1/workers", Policy.API_READ),
              Map.entry("GET /api/v1/workers/{id}", Policy.API_READ),
              Map.entry("POST /api/v1/workers/{id}/drain", Policy.API_WRITE),
              Map.entry("POST /api/v1/workers/{id}/resume", Policy.API_WRITE),
              Map.entry("POST /api/v1/workers/{id}/approve", Policy.API_WRITE),
              Map.entry("POST /api/v1/workers/{id}/revoke", Policy.API_WRITE),
              Map.entry("DELETE /api/v1/workers/{id}", Policy.API_WRITE),
              Map.entry("PUT /api/v1/workers/{id}/labels", Policy.API_WRITE),
              Map.entry("POST /api/v1/enrollment-tokens", Policy.API_WRITE),
              Map.entry("GET /api/v1/enrollment-tokens", Policy.API_READ),
              Map.entry("DELETE /api/v1/enrollment-tokens/{id}", Policy.API_WRITE),
              // agent self-update
              Map.entry("GET /api/v1/agent-rollout", Policy.API_READ),
              Map.entry("PUT /api/v1/agent-rollout", Policy.API_WRITE),
              // users, API tokens, audit: admins only, even to read
              Map.entry("GET /api/v1/users", Policy.API_ADMIN),
              Map.entry("POST /api/v1/users", Policy.API_ADMIN),
              Map.entry("GET /api/v1/users/{username}", Policy.API_ADMIN),
              Map.entry("PATCH /api/v1/users/{username}", Policy.API_ADMIN),
              Map.entry("DELETE /api/v1/users/{username}", Policy.API_ADMIN),
              Map.entry("POST /api/v1/api-tokens", Policy.API_ADMIN),
              Map.entry("GET /api/v1/api-tokens", Policy.API_ADMIN),
              Map.entry("DELETE /api/v1/api-tokens/{id}", Policy.API_ADMIN),
              Map.entry("GET /api/v1/audit", Policy.API_ADMIN),
              // the OpenAPI document and Swagger UI (springdoc): whoever may read the API
              Map.entry("GET /v3/api-docs", Policy.API_READ),
              Map.entry("GET /v3/api-docs/{group}", Policy.API_READ),
              Map.entry("GET /v3/api-docs.yaml", Policy.API_READ),
              Map.entry("GET /v3/api-docs.yaml/{group}", Policy.API_READ),
              Map.entry("GET /v3/api-docs/swagger-config", Policy.API_READ),
              Map.entry("GET /swagger-ui.html", Policy.API_READ),
              // the dashboard
              Map.entry("GET /ui", Policy.DASHBOARD_READ),
              Map.entry("GET /ui/", Policy.DASHBOARD_READ),
              Map.entry("GET /ui/jobs", Policy.DASHBOARD_READ),
              Map.entry("GET /ui/jobs/{id}", Policy.DASHBOARD_READ),
              Map.entry("POST /ui/jobs/{id}/{action}", Policy.DASHBOARD_WRITE),
              Map.entry("GET /ui/workers", Policy.DASHBOARD_READ),
              Map.entry("POST /ui/workers/{id}/{action}", Policy.DASHBOARD_WRITE),
              Map.entry("GET /ui/code", Policy.DASHBOARD_READ),
              Map.entry("POST /ui/code/promote", Policy.DASHBOARD_WRITE),
              Map.entry("GET /ui/audit", Policy.DASHBOARD_ADMIN_READ)));

  /** Endpoints outside Spring MVC: Git smart HTTP (JGit's servlet) and health. */
  static final Map<String, Policy> OTHER =
      new TreeMap<>(
          Map.of(
              "GET /git/code.git/info/refs?service=git-upload-pack", Policy.GIT_FETCH,
              "GET /git/code.git/info/refs?service=git-receive-pack", Policy.GIT_PUSH,
              "GET /actuator/health", Policy.PUBLIC_CHECKED,
              "GET /actuator/prometheus", Policy.API_READ));

  private final HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private Map<Who, String> bearer;
  private Map<Who, String> basic;
  private Session operatorSession;
  private Session adminSession;

  @BeforeEach
  void callers() throws Exception {
    Db.reset(jdbc);
    limiter.reset();
    CodeFixture.ensureRelease(port);
    Http admin = Http.admin(port);
    admin.delete("/api/v1/users/matrix-op");
    assertThat(
            admin.post("/api/v1/users", Map.of("username", "matrix-op", "password", "matrix-op-password", "role",
                "OPERATOR")).status())
        .isEqualTo(201);
    TestAgent agent = TestAgent.enroll(port, "matrix-agent", 1, Map.of());
    TestAgent another = TestAgent.enroll(port, "matrix-other", 1, Map.of());
    TestAgent revoked = TestAgent.enroll(port, "matrix-revoked", 1, Map.of());
    assertThat(admin.post("/api/v1/workers/" + revoked.workerId + "/revoke", "").status()).isEqualTo(200);
    String adminToken = admin.post("/api/v1/api-tokens", Map.of("name", "matrix admin")).json().get("token").asString();
    String operatorToken =
        admin.post("/api/v1/api-tokens", Map.of("name", "matrix op", "username", "matrix-op"))
            .json()
            .get("token")
            .asString();
    bearer = new EnumMap<>(Who.class);
    bearer.put(Who.ADMIN_API_TOKEN, adminToken);
    bearer.put(Who.OPERATOR_API_TOKEN, operatorToken);
    bearer.put(Who.AGENT, agent.token);
    bearer.put(Who.ANOTHER_AGENT, another.token);
    bearer.put(Who.REVOKED_AGENT, revoked.token);
    basic = new EnumMap<>(Who.class);
    basic.put(Who.WRONG_PASSWORD, "admin:not-the-password");
    basic.put(Who.OPERATOR, "matrix-op:matrix-op-password");
    basic.put(Who.ADMIN, "admin:" + Http.ADMIN_PASSWORD);
    operatorSession = Session.login(port, "matrix-op", "matrix-op-password");
    adminSession = Session.login(port, "admin", Http.ADMIN_PASSWORD);
  }

  @AfterEach
  void forget() {
    limiter.reset();
  }

  @Test
  void everyRegisteredEndpointHasAnExpectationForEveryCaller() throws Exception {
    Set<String> registered = new TreeSet<>();
    mappings
        .getHandlerMethods()
        .keySet()
        .forEach(
            info -> {
              Set<RequestMethod> methods = info.getMethodsCondition().getMethods();
              for (String pattern : info.getPatternValues()) {
                if (methods.isEmpty()) {
                  registered.add("GET " + pattern);
                } else {
                  methods.forEach(m -> registered.add(m.name() + " " + pattern));
                }
              }
            });
    assertThat(registered)
        .as("endpoints without an expected access policy: add them to AccessMatrixTest.MVC")
        .isSubsetOf(MVC.keySet());
    assertThat(MVC.keySet()).as("expectations for endpoints that no longer exist").isSubsetOf(registered);

    List<String> wrong = new ArrayList<>();
    Map<String, Policy> everything = new TreeMap<>(MVC);
    everything.putAll(OTHER);
    int calls = 0;
    for (var endpoint : everything.entrySet()) {
      String method = endpoint.getKey().substring(0, endpoint.getKey().indexOf(' '));
      String path = concrete(endpoint.getKey().substring(method.length() + 1));
      for (Who who : Who.values()) {
        limiter.reset();
        Outcome expected = endpoint.getValue().expected.get(who);
        HttpResponse<String> r = call(who, method, path);
        calls++;
        Outcome actual = outcome(r);
        if (actual != expected) {
          wrong.add(endpoint.getKey() + " as " + who + ": expected " + expected + ", got " + r.statusCode() + " "
              + r.headers().firstValue("Location").orElse("") + " " + abbreviate(r.body()));
        }
      }
    }
    assertThat(wrong).as("of " + calls + " calls").isEmpty();
  }

  /** Fencing: an agent may report only leases it holds; a stale token changes nothing. */
  @Test
  void anAgentCanReportOnlyItsOwnCurrentLeases() {
    TestAgent owner = TestAgent.enroll(port, "fence-owner", 3, Map.of());
    TestAgent other = TestAgent.enroll(port, "fence-other", 1, Map.of());
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("fenced", "true", 30, 10));
    List<Lease> leases = owner.claim(3, 0);
    assertThat(leases).hasSize(3);
    Lease lease = leases.get(0);

    Http.Response stolen = other.complete(lease, "not mine\n");
    assertThat(stolen.status()).isEqualTo(403);
    assertThat(stolen.detail()).contains("belongs to another worker");
    Instant now = Instant.now();
    Http.Response stolenFail =
        other.http.post(
            AgentPaths.FAIL,
            new FailRequest(lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(),
                AttemptOutcome.FAILED, 1, now, now, "x", ""));
    assertThat(stolenFail.status()).isEqualTo(403);
    Http.Response stolenRelease =
        other.http.post(AgentPaths.RELEASE, new ReleaseRequest(List.of(lease.ref()), "not mine"));
    assertThat(stolenRelease.json().get("released").asInt()).as("another's lease is not released").isZero();
    assertThat(Jobs.get(Http.admin(port), jobId).get("counts").get("leased").asInt()).isEqualTo(3);

    // A token that is not the batch's lease: 409, nothing changes.
    Lease forged = new Lease(lease.batchId(), lease.jobId(), lease.attempt(), leases.get(1).leaseToken(),
        lease.expiresAt(), lease.commit(), lease.version(), lease.command(), lease.timeoutSeconds(),
        lease.input(), lease.env());
    assertThat(owner.complete(forged, "x\n").status()).isEqualTo(409);

    assertThat(owner.complete(lease, "mine\n").status()).isEqualTo(200);
    assertThat(owner.complete(lease, "mine\n").json().get("status").asString()).isEqualTo("DUPLICATE");
    // Released, then reported late: the lease is no longer current.
    Lease second = leases.get(1);
    owner.http.post(AgentPaths.RELEASE, new ReleaseRequest(List.of(second.ref()), "giving back"));
    Http.Response late = owner.complete(second, "late\n");
    assertThat(late.status()).isEqualTo(409);
    assertThat(late.detail()).contains("no longer current");
  }

  private static String abbreviate(String s) {
    String t = s == null ? "" : s.replaceAll("\\s+", " ");
    return t.length() > 160 ? t.substring(0, 160) + "…" : t;
  }

  /** A concrete path for a pattern: ids that exist nowhere (a handler that is reached answers 404 or 400). */
  private static String concrete(String pattern) {
    if (pattern.startsWith("/install/{script")) {
      return "/install/agent.sh";
    }
    if (pattern.startsWith("/ui/jobs/{id}/{action}")) {
      return "/ui/jobs/999999/cancel";
    }
    if (pattern.startsWith("/ui/workers/{id}/{action}")) {
      return "/ui/workers/no-such-worker/drain";
    }
    if (pattern.startsWith("/api/v1/workers/{id}")) {
      return pattern.replace("{id}", "no-such-worker");
    }
    return pattern.replace("{username}", "no-such-user").replace("{id}", "999999").replace("{group}", "admin");
  }

  private HttpResponse<String> call(Who who, String method, String path) throws IOException, InterruptedException {
    boolean dashboard = path.startsWith("/ui") || path.equals("/login");
    boolean git = path.startsWith("/git/");
    if (dashboard && (who == Who.OPERATOR || who == Who.ADMIN)) {
      return (who == Who.ADMIN ? adminSession : operatorSession).send(method, path);
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    String body = "POST".equals(method) || "PATCH".equals(method) || "PUT".equals(method) ? "{}" : null;
    if (path.equals(AgentPaths.REGISTER)) {
      body = "{\"enrollmentToken\": \"nse_not-a-token\", \"name\": \"matrix\", \"slots\": 1}";
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    if (basic.containsKey(who)) {
      b.header("Authorization", "Basic " + base64(basic.get(who)));
    } else if (bearer.containsKey(who)) {
      boolean agent = who == Who.AGENT || who == Who.ANOTHER_AGENT || who == Who.REVOKED_AGENT;
      b.header(
          "Authorization",
          git && agent ? "Basic " + base64("agent:" + bearer.get(who)) : "Bearer " + bearer.get(who));
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Outcome outcome(HttpResponse<String> r) {
    int s = r.statusCode();
    String location = r.headers().firstValue("Location").orElse("");
    if (s == 401) {
      return Outcome.UNAUTHORIZED;
    }
    if (s == 403) {
      return Outcome.FORBIDDEN;
    }
    if (s >= 300 && s < 400 && location.contains("/login")) {
      return Outcome.LOGIN;
    }
    if (s >= 500) {
      return Outcome.SERVER_ERROR;
    }
    if (s == 429) {
      return null; // never expected: the limiter is reset before every call
    }
    return Outcome.ALLOWED;
  }

  private static String base64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** A logged-in dashboard session: its cookie and its CSRF token. */
  static final class Session {
    private final HttpClient client;
    private final int port;
    private String csrf;

    private Session(HttpClient client, int port) {
      this.client = client;
      this.port = port;
    }

    static Session login(int port, String user, String password) throws IOException, InterruptedException {
      HttpClient c =
          HttpClient.newBuilder().cookieHandler(new CookieManager()).followRedirects(HttpClient.Redirect.NEVER).build();
      Session s = new Session(c, port);
      s.csrf = csrf(s.send("GET", "/login").body());
      HttpResponse<String> in =
          c.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/login"))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "username=" + enc(user) + "&password=" + enc(password) + "&_csrf=" + enc(s.csrf)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(in.headers().firstValue("Location").orElse("")).as("login of " + user).doesNotContain("error");
      s.csrf = csrf(s.send("GET", "/ui").body());
      return s;
    }

    HttpResponse<String> send(String method, String path) throws IOException, InterruptedException {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
      if ("GET".equals(method)) {
        b.GET();
      } else {
        b.header("Content-Type", "application/x-www-form-urlencoded")
            .method(method, HttpRequest.BodyPublishers.ofString("_csrf=" + enc(csrf)));
      }
      return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String csrf(String html) {
      Matcher m = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"").matcher(html);
      assertThat(m.find()).as("a CSRF token in the page").isTrue();
      return m.group(1);
    }

    private static String enc(String s) {
      return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
  }
}
