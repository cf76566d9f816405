package dev.nightshift.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.security.AuthFailureLimiter;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.net.CookieManager;
import java.net.HttpCookie;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * At least 10,000 hostile requests over every endpoint (the categories of bad input are listed in
 * {@link HostileRequests}), from a fixed seed ({@code -Dhostile.seed}, default 20261202; {@code -Dhostile.requests},
 * default 10,200). Asserts: no 5xx; every 4xx is {@code application/problem+json} with a non-empty {@code detail}
 * (except a dashboard page for a client that asks for HTML, and Git's own error format for Git's protocol paths);
 * every request is answered; and the server still serves normal requests afterwards. Prints its figures.
 */
@NightshiftTest
class HostileRequestsTest {
  private static final long SEED = Long.getLong("hostile.seed", 20261202L);
  private static final int REQUESTS = Integer.getInteger("hostile.requests", 10_200);
  private static final int THREADS = 8;

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired AuthFailureLimiter limiter;

  /** Other test classes share this server: the users this one made (one may have been made ADMIN) go. */
  @AfterEach
  void removeUsers() {
    limiter.reset();
    for (String user : List.of("hostile-victim", "hv0", "hv1", "hv2")) {
      Http.admin(port).delete("/api/v1/users/" + user);
    }
  }

  @Test
  void hostileRequestsGetProblemsNeverServerErrors() throws Exception {
    Db.reset(jdbc);
    limiter.reset();
    CodeFixture.ensureRelease(port);
    HostileRequests.Fixture fixture = fixture();
    HostileRequests requests = new HostileRequests(SEED, fixture);

    Map<Integer, AtomicInteger> byStatus = new ConcurrentSkipListMap<>();
    Map<String, AtomicInteger> byCategory = new ConcurrentSkipListMap<>();
    Map<String, AtomicInteger> byEndpoint = new ConcurrentSkipListMap<>();
    Map<String, AtomicLong> nanosByEndpoint = new ConcurrentSkipListMap<>();
    AtomicInteger tolerated = new AtomicInteger();
    AtomicLong bytesSent = new AtomicLong();
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger done = new AtomicInteger();
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    for (int i = 0; i < REQUESTS; i++) {
      int index = i;
      pool.execute(
          () -> {
            HostileRequests.Hostile h = requests.build(index);
            bytesSent.addAndGet(h.bytes().length);
            long sent = System.nanoTime();
            RawHttp.Answer a = RawHttp.exchange(port, h.bytes(), h.halfClose(), 20_000);
            nanosByEndpoint.computeIfAbsent(h.endpoint(), c -> new AtomicLong()).addAndGet(System.nanoTime() - sent);
            byStatus.computeIfAbsent(a.status(), s -> new AtomicInteger()).incrementAndGet();
            byCategory.computeIfAbsent(h.category(), c -> new AtomicInteger()).incrementAndGet();
            byEndpoint.computeIfAbsent(h.endpoint(), c -> new AtomicInteger()).incrementAndGet();
            String problem = check(h, a);
            if ("tolerated".equals(problem)) {
              tolerated.incrementAndGet();
            } else if (problem != null) {
              failures.add(describe(h, a, problem));
            }
            // Wrong credentials are part of the mix: keep the address from being locked out (429) for long.
            if (done.incrementAndGet() % 40 == 0) {
              limiter.reset();
            }
          });
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(5, TimeUnit.MINUTES)).as("all requests done").isTrue();
    double seconds = (System.nanoTime() - start) / 1e9;
    limiter.reset();

    System.out.printf(
        "hostile requests: %d sent (%.1f MB) in %.1f s (%.0f/s), seed %d, %d threads, %d endpoints, %d CPUs at load"
            + " %.1f%n"
            + "  by status:   %s (0: answered without a status line, HTTP/0.9-style, to a request line without a"
            + " version or one Tomcat cannot parse)%n  by category: %s%n"
            + "  unanswered but tolerated (oversized input): %d%n"
            + "  failures: %d%n",
        REQUESTS, bytesSent.get() / 1e6, seconds, REQUESTS / seconds, SEED, THREADS, byEndpoint.size(),
        Runtime.getRuntime().availableProcessors(),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), byStatus,
        byCategory, tolerated.get(), failures.size());
    System.out.println("  by endpoint: " + byEndpoint);
    System.out.println(
        "  slowest endpoints (mean ms): "
            + nanosByEndpoint.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue().get() / byEndpoint.get(y.getKey()).get(),
                    x.getValue().get() / byEndpoint.get(x.getKey()).get()))
                .limit(8)
                .map(e -> e.getKey() + "=" + e.getValue().get() / byEndpoint.get(e.getKey()).get() / 1_000_000)
                .toList());
    failures.stream().sorted().limit(300).forEach(f -> System.out.println("  FAILED " + f));

    assertThat(REQUESTS).isGreaterThanOrEqualTo(10_000);
    assertThat(byEndpoint).as("every endpoint was aimed at").hasSize(requests.endpointCount());
    assertThat(failures).as("requests that got a 5xx, no answer, or a 4xx that is not problem+json").isEmpty();
    assertThat(byStatus.keySet()).as("no 5xx").allMatch(s -> s < 500);

    // The server still serves normal requests.
    Http admin = Http.admin(port);
    assertThat(admin.get("/api/v1/jobs?limit=5").status()).isEqualTo(200);
    assertThat(Http.anonymous(port).get("/actuator/health").status()).isEqualTo(200);
    assertThat(Http.anonymous(port).get("/login").status()).isEqualTo(200);
    Db.restoreStandingEnrollmentToken(jdbc); // the storm's admin DELETEs may have revoked it, as an admin may
    TestAgent agent = TestAgent.enroll(port, "after-the-storm", 1, Map.of());
    assertThat(agent.heartbeat(List.of()).instructions()).isNotNull();
    long job = Jobs.submit(admin, Jobs.range("after-the-storm", "true", 1, 1));
    assertThat(Jobs.get(admin, job).get("batchCount").asInt()).isEqualTo(1);
  }

  /** Null when the answer is right for the request; "tolerated" for an unanswered oversized request. */
  static String check(HostileRequests.Hostile h, RawHttp.Answer a) {
    if (!a.answered()) {
      if (h.http09() && a.failure().startsWith("connection closed")) {
        return null; // an HTTP/0.9 request gets a bare body (perhaps empty), no status line
      }
      if (hasDetail(a.text())) {
        return null; // a request line Tomcat cannot parse is answered HTTP/0.9-style: the problem alone
      }
      if (h.mayGoUnanswered()) {
        return "tolerated";
      }
      return "no answer: " + a.failure();
    }
    int status = a.status();
    if (status >= 500) {
      return "server error " + status;
    }
    if (status < 400) {
      return null;
    }
    String type = a.contentType();
    boolean head = new String(h.bytes(), 0, Math.min(5, h.bytes().length), StandardCharsets.ISO_8859_1).equals("HEAD ");
    if (type.startsWith("application/problem+json")) {
      return head || hasDetail(a.text()) ? null : "problem+json without a detail";
    }
    if (head && h.gitFormatAllowed() && type.startsWith("application/x-git-")) {
      return null; // no body to a HEAD
    }
    if (h.htmlAllowed() && type.startsWith("text/html")) {
      return null;
    }
    if (h.gitFormatAllowed() && type.startsWith("application/x-git-") && a.text().contains("ERR ")) {
      return null;
    }
    return status + " is not problem+json";
  }

  private static boolean hasDetail(String body) {
    try {
      JsonNode detail = Http.JSON.readTree(body).path("detail");
      return detail.isString() && !detail.asString().isBlank();
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String describe(HostileRequests.Hostile h, RawHttp.Answer a, String problem) {
    String head = new String(h.bytes(), 0, Math.min(160, h.bytes().length), StandardCharsets.ISO_8859_1);
    head = head.replace("\r", "\\r").replace("\n", "\\n");
    String body = a.text();
    return String.format(
        "#%d [%s] %s: %s -> %s; %d %s %s | request: %s",
        h.index(), h.category(), h.endpoint(), h.description(), problem, a.status(), a.contentType(),
        body.length() > 200 ? body.substring(0, 200) : body, head);
  }

  // ------------------------------------------------------------------------------------------- fixture

  /** Leases to report on, a drained agent to claim with (never parked), victims to steer, a dashboard session. */
  private HostileRequests.Fixture fixture() throws Exception {
    Http admin = Http.admin(port);
    JsonNode current = admin.get("/api/v1/code").json().get("current");
    long leaseJob = Jobs.submit(admin, Jobs.range("hostile-leases", "true", 20, 1));
    TestAgent agent = TestAgent.enroll(port, "hostile-a", 8, Map.of());
    List<Lease> leases = agent.claim(8, 0);
    assertThat(leases).isNotEmpty();
    TestAgent drained = TestAgent.enroll(port, "hostile-b", 1, Map.of());
    assertThat(admin.post("/api/v1/workers/" + drained.workerId + "/drain", "").status()).isEqualTo(200);
    TestAgent victim = TestAgent.enroll(port, "hostile-c", 1, Map.of("pool", "victim"));
    Map<String, Object> victimJob = new java.util.LinkedHashMap<>(Jobs.range("hostile-victim", "true", 2, 1));
    victimJob.put("labels", Map.of("pool", "hostile"));
    long victimJobId = Jobs.submit(admin, victimJob);
    String victimUser = "hostile-victim";
    admin.delete("/api/v1/users/" + victimUser);
    assertThat(
            admin.post("/api/v1/users", Map.of("username", victimUser, "password", "hostile-password-0", "role", "OPERATOR"))
                .status())
        .isEqualTo(201);
    String[] session = login();
    return new HostileRequests.Fixture(
        Http.ADMIN_PASSWORD,
        Http.ENROLLMENT_TOKEN,
        agent.token,
        drained.token,
        victim.token,
        victim.workerId,
        leases.stream().map(Lease::batchId).toList(),
        leases.stream().map(Lease::leaseToken).toList(),
        current.get("commit").asString(),
        current.get("version").asString(),
        leaseJob,
        victimJobId,
        victimUser,
        session[0],
        session[1]);
  }

  /** Logs in to the dashboard as admin: the session cookie and the page's CSRF token. */
  private String[] login() throws Exception {
    CookieManager cookies = new CookieManager();
    HttpClient client =
        HttpClient.newBuilder().cookieHandler(cookies).followRedirects(HttpClient.Redirect.NEVER).build();
    String base = "http://127.0.0.1:" + port;
    String csrf = csrf(client.send(HttpRequest.newBuilder(URI.create(base + "/login")).build(),
        HttpResponse.BodyHandlers.ofString()).body());
    String form =
        "username=admin&password=" + URLEncoder.encode(Http.ADMIN_PASSWORD, StandardCharsets.UTF_8) + "&_csrf="
            + URLEncoder.encode(csrf, StandardCharsets.UTF_8);
    HttpResponse<String> in =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(in.headers().firstValue("Location").orElse("")).doesNotContain("error");
    String page = client.send(HttpRequest.newBuilder(URI.create(base + "/ui")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    String session =
        cookies.getCookieStore().getCookies().stream()
            .filter(c -> c.getName().equals("JSESSIONID"))
            .map(HttpCookie::getValue)
            .findFirst()
            .orElseThrow();
    return new String[] {session, csrf(page)};
  }

  private static String csrf(String html) {
    Matcher m = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"").matcher(html);
    assertThat(m.find()).as("a CSRF token in the page").isTrue();
    return m.group(1);
  }
}
