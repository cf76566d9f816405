package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MariaDbProcess;
import dev.nightshift.server.testing.ServerProcess;
import dev.nightshift.server.testing.TestAgent;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database outage with real processes: the server jar on a MariaDB of the test's own (a separate
 * {@code mariadbd}), which is SIGKILLed while admins, scripts, Git and agents keep calling, then started again on
 * the same port and data. During the outage every call that needs the database is answered 503 problem+json with
 * {@code Retry-After}, within seconds, and right credentials are never answered 401 nor counted toward the lockout;
 * seconds after the database is back, everything answers normally again, the batch engine included.
 */
class DatabaseOutageIT {
  /**
   * The most one answer may take while the database is down. The server gives up on a connection after 2 s
   * ({@code spring.datasource.hikari.connection-timeout}); the bound is generous because a busy 2-core CI machine
   * adds seconds of scheduling and JIT jitter, and what it must catch is Hikari's 30 s default.
   */
  static final Duration ANSWER_BOUND = Duration.ofSeconds(10);

  /** How soon after the database accepts connections again every call must answer normally. */
  static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);

  static final int LOCKOUT_LIMIT = 3;

  @TempDir static Path dir;
  static MariaDbProcess db;
  static ServerProcess server;
  static AgentProcess realAgent;
  static String skipped;
  static final ExecutorService pool = Executors.newFixedThreadPool(32);

  @BeforeAll
  static void start() throws Exception {
    skipped = MariaDbProcess.missing();
    if (skipped != null) {
      return;
    }
    db = MariaDbProcess.install(dir.resolve("mariadb"), ServerProcess.freePort());
    db.createDatabase("nightshift");
    Map<String, String> env = new LinkedHashMap<>(ServerProcess.fastLeases());
    // Leases outlive the outage (about 15 s): a batch running across it must be accepted when its agent reports.
    env.put("NIGHTSHIFT_LEASE_DURATION", "30s");
    env.put("SPRING_DATASOURCE_URL", db.serverUrl() + "nightshift");
    env.put("SPRING_DATASOURCE_USERNAME", "root");
    env.put("SPRING_DATASOURCE_PASSWORD", "");
    // A low limit, so the outage's right-credential calls would trip the lockout if they counted as failures.
    env.put("NIGHTSHIFT_SECURITY_AUTH_FAILURE_LIMIT", String.valueOf(LOCKOUT_LIMIT));
    server = ServerProcess.startRaw(dir.resolve("server"), env, List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);
  }

  @BeforeEach
  void needsMariaDb() {
    assumeTrue(skipped == null, skipped);
  }

  @AfterAll
  static void stop() {
    pool.shutdownNow();
    keepLogs();
    if (realAgent != null) {
      realAgent.close();
    }
    if (server != null) {
      server.close();
    }
    if (db != null) {
      db.close();
    }
  }

  /** Copies the server's, the agent's and the database's logs to target/database-outage-it (the temp dir goes). */
  static void keepLogs() {
    try {
      Path keep = Files.createDirectories(Path.of("target", "database-outage-it"));
      for (Path log :
          List.of(
              dir.resolve("server/server.log"), dir.resolve("agent.log"), dir.resolve("mariadb/mariadbd.log"))) {
        if (Files.exists(log)) {
          Files.copy(log, keep.resolve(log.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (java.io.IOException e) {
      System.err.println("logs not kept: " + e);
    }
  }

  /** One call, as a test client saw it. */
  record Seen(String name, int status, String contentType, String retryAfter, long millis, String body) {
    /** The answer of a working server: 200, or for the login form a redirect into the dashboard. */
    boolean normal() {
      return name.equals("dashboard login") ? status == 302 && body.endsWith("/ui") : status == 200;
    }

    boolean problem() {
      return contentType != null && contentType.startsWith("application/problem+json");
    }

    @Override
    public String toString() {
      return String.format(
          "%-34s %3d %5d ms  %-26s Retry-After=%s  %s",
          name, status, millis, contentType, retryAfter, body.length() > 160 ? body.substring(0, 160) : body);
    }
  }

  static Seen call(String name, Supplier<Http.Response> call) {
    long t0 = System.nanoTime();
    Http.Response r;
    try {
      r = call.get();
    } catch (RuntimeException e) {
      return new Seen(name, -1, null, null, (System.nanoTime() - t0) / 1_000_000, e.toString());
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    return new Seen(
        name,
        r.status(),
        r.contentType(),
        r.headers().firstValue("Retry-After").orElse(null),
        ms,
        r.body() == null ? "" : r.body().replace('\n', ' '));
  }

  /** Runs every call at once (as many clients would) and returns what each saw. */
  static List<Seen> concurrently(Map<String, Supplier<Http.Response>> calls) {
    List<CompletableFuture<Seen>> futures = new ArrayList<>();
    calls.forEach((name, c) -> futures.add(CompletableFuture.supplyAsync(() -> call(name, c), pool)));
    return futures.stream().map(CompletableFuture::join).toList();
  }

  @Test
  void anOutageIsAnswered503QuicklyWithoutLockoutAndEverythingRecoversWithinSeconds() throws Exception {
    int port = server.port;
    Http admin = server.admin();
    Http anonymous = Http.anonymous(port);
    Http wrongPassword = Http.basic(port, "admin", "not-the-admin-password");
    Http unknownUser = Http.basic(port, "nobody-here", "whatever-password");
    Http.Response created = admin.post("/api/v1/api-tokens", Map.of("name", "outage script", "username", "admin"));
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    Http script = Http.bearer(port, created.json().get("token").asString());
    TestAgent agent = TestAgent.enroll(port, "outage-agent", 2, Map.of());
    Http agentGit = Http.basic(port, "agent", agent.token);

    // The engine works before: two batches claimed, one completed, one held across the outage.
    long before = Jobs.submit(admin, Jobs.range("before the outage", "true", 2, 1));
    List<Lease> leases = agent.claim(2, 0);
    assertThat(leases).hasSize(2);
    assertThat(agent.complete(leases.get(0), "").status()).isEqualTo(200);
    Lease held = leases.get(1);

    // A real agent, when its jar was built (the worker-agent module): it must ride out the outage on its own,
    // with a batch that it finishes while the database is down.
    long across = -1;
    if (Files.exists(AgentProcess.JAR)) {
      realAgent =
          AgentProcess.start("run", server.url(), dir.resolve("agent"), "agent.log", "--slots", "1", "--name", "real");
      // First a batch that makes it fetch and check out the release (Git needs the database for its credentials).
      long warmUp = Jobs.submit(admin, Jobs.range("warm-up", "true", 1, 1));
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> Jobs.get(admin, warmUp).get("state").asString().equals("SUCCEEDED"));
      across = Jobs.submit(admin, Jobs.range("across the outage", "sleep 3; echo finished-in-the-dark", 1, 1));
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> GridEndToEndIT.runningBatches(server, "real") > 0);
    }

    // A long-polled claim parked on the server when the database dies.
    CompletableFuture<Seen> parked =
        CompletableFuture.supplyAsync(
            () -> call("claim parked across the kill", () -> agent.http.post(AgentPaths.CLAIM, new ClaimRequest(1, 15_000))),
            pool);
    Thread.sleep(300); // let the claim reach the server and park (there is no work for it)

    Map<String, Supplier<Http.Response>> calls = new LinkedHashMap<>();
    calls.put("admin GET /api/v1/jobs", () -> admin.get("/api/v1/jobs"));
    calls.put("admin GET job", () -> admin.get("/api/v1/jobs/" + before));
    calls.put("admin GET results", () -> admin.get("/api/v1/jobs/" + before + "/results"));
    calls.put("admin GET /api/v1/workers", () -> admin.get("/api/v1/workers"));
    calls.put("admin POST /api/v1/jobs", () -> admin.post("/api/v1/jobs", Jobs.range("during", "true", 2, 1)));
    calls.put("admin POST cancel", () -> admin.post("/api/v1/jobs/" + before + "/cancel", "{}"));
    calls.put("api token GET /api/v1/jobs", () -> script.get("/api/v1/jobs"));
    calls.put("git info/refs (admin)", () -> admin.get("/git/code.git/info/refs?service=git-upload-pack"));
    calls.put("git info/refs (agent token)", () -> agentGit.get("/git/code.git/info/refs?service=git-upload-pack"));
    calls.put("agent heartbeat", () -> agent.http.post(AgentPaths.HEARTBEAT, heartbeat()));
    calls.put("agent claim", () -> agent.http.post(AgentPaths.CLAIM, new ClaimRequest(1, 0)));
    calls.put("agent claim (long poll)", () -> agent.http.post(AgentPaths.CLAIM, new ClaimRequest(1, 5_000)));
    calls.put("agent complete", () -> agent.complete(held, ""));
    calls.put("agent register", () -> anonymous.post(AgentPaths.REGISTER, register("late-agent")));
    calls.put("dashboard login", () -> dashboardLogin(port));
    calls.put("wrong password", () -> wrongPassword.get("/api/v1/jobs"));
    calls.put("unknown user", () -> unknownUser.get("/api/v1/jobs"));
    calls.put("health", () -> anonymous.get("/actuator/health"));
    calls.put("liveness", () -> anonymous.get("/actuator/health/liveness"));

    // ------------------------------------------------------------------ the outage
    db.kill();
    long killedAt = System.nanoTime();
    List<Seen> outage = new ArrayList<>(concurrently(calls));
    // A second round, with more right-credential calls than the lockout allows failures.
    Map<String, Supplier<Http.Response>> again = new LinkedHashMap<>(calls);
    for (int i = 1; i <= LOCKOUT_LIMIT + 1; i++) {
      again.put("admin GET /api/v1/jobs (again " + i + ")", () -> admin.get("/api/v1/jobs"));
    }
    outage.addAll(concurrently(again));
    long outageMillis = (System.nanoTime() - killedAt) / 1_000_000;

    // ------------------------------------------------------------------ the recovery
    db.start(); // returns once the database accepts connections
    long upAt = System.nanoTime();
    Map<String, Supplier<Http.Response>> normal = new LinkedHashMap<>();
    normal.put("admin GET /api/v1/jobs", () -> admin.get("/api/v1/jobs"));
    normal.put("admin GET /api/v1/workers", () -> admin.get("/api/v1/workers"));
    normal.put("api token GET /api/v1/jobs", () -> script.get("/api/v1/jobs"));
    normal.put("git info/refs (agent token)", () -> agentGit.get("/git/code.git/info/refs?service=git-upload-pack"));
    normal.put("agent heartbeat", () -> agent.http.post(AgentPaths.HEARTBEAT, heartbeat()));
    normal.put("agent claim", () -> agent.http.post(AgentPaths.CLAIM, new ClaimRequest(0, 0)));
    normal.put("health", () -> anonymous.get("/actuator/health"));
    normal.put("dashboard login", () -> dashboardLogin(port));
    List<Seen> recovery = new ArrayList<>();
    long recoveredMillis = -1;
    long deadline = upAt + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      List<Seen> round = concurrently(normal);
      recovery.addAll(round);
      if (round.stream().allMatch(Seen::normal)) {
        recoveredMillis = (System.nanoTime() - upAt) / 1_000_000;
        break;
      }
      Thread.sleep(200);
    }
    // ... and stays recovered: no stale pooled connection answers an error afterwards.
    List<Seen> after = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      after.addAll(concurrently(normal));
    }
    Seen parkedSeen = parked.get(60, TimeUnit.SECONDS);

    System.out.println("---- DatabaseOutageIT: during the outage (" + outageMillis + " ms)");
    outage.forEach(System.out::println);
    System.out.println(parkedSeen);
    System.out.println("---- recovery: everything answered 200 " + recoveredMillis + " ms after the database was up");
    recovery.stream().filter(s -> !s.normal()).forEach(System.out::println);
    System.out.println("---- after recovery: " + after.stream().filter(s -> !s.normal()).count() + " abnormal");
    after.stream().filter(s -> !s.normal()).forEach(System.out::println);

    SoftAssertions soft = new SoftAssertions();
    Set<String> credentialsMayBeChecked = Set.of("wrong password", "unknown user");
    for (Seen s : outage) {
      soft.assertThat(s.millis()).as("time to answer: %s", s).isLessThan(ANSWER_BOUND.toMillis());
      if (s.name().equals("dashboard login")) {
        // Back to the form, saying the password could not be checked; not "?error", which counts as a failure.
        soft.assertThat(s.status()).as("dashboard login: %s", s).isEqualTo(302);
        soft.assertThat(s.body()).as("dashboard login: %s", s).endsWith("/login?unavailable");
        continue;
      }
      if (s.name().equals("liveness")) {
        soft.assertThat(s.status()).as("liveness (restarting the server would not help): %s", s).isEqualTo(200);
        continue;
      }
      if (credentialsMayBeChecked.contains(s.name())) {
        soft.assertThat(s.status()).as("wrong credentials: %s", s).isIn(401, 503);
      } else {
        soft.assertThat(s.status()).as("right credentials: %s", s).isEqualTo(503);
      }
      if (s.name().equals("health")) {
        soft.assertThat(s.body()).as("health: %s", s).contains("DOWN");
      } else {
        soft.assertThat(s.problem()).as("problem+json: %s", s).isTrue();
        if (s.status() == 503) {
          soft.assertThat(s.retryAfter()).as("Retry-After: %s", s).isNotNull().matches("[1-9][0-9]*");
        }
      }
    }
    soft.assertThat(parkedSeen.status()).as("parked claim: %s", parkedSeen).isIn(200, 503);
    soft.assertThat(recoveredMillis)
        .as("every call answered 200 again within %s of the database's return", RECOVERY_BOUND)
        .isBetween(0L, RECOVERY_BOUND.toMillis());
    soft.assertThat(after).as("after recovery").allMatch(Seen::normal);
    soft.assertAll();

    // No lockout for the right user: the outage's 503s were not failed authentications.
    assertThat(admin.get("/api/v1/jobs").status()).isEqualTo(200);
    Http.Response wrong = wrongPassword.get("/api/v1/jobs");
    assertThat(wrong.status()).as(wrong.toString()).isEqualTo(401);
    assertThat(admin.get("/api/v1/jobs").status()).isEqualTo(200);

    // The engine resumed: a job submitted now is claimed and completed through it.
    long afterJob = Jobs.submit(admin, Jobs.range("after the outage", "true", 3, 1));
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              for (Lease l : agent.claim(3, 0)) {
                assertThat(agent.complete(l, "").status()).isEqualTo(200);
              }
              return Jobs.get(admin, afterJob).get("state").asString().equals("SUCCEEDED");
            });

    // A real agent that lived through the outage sends the result it finished in the dark (its back-off is up to
    // 60 s with jitter), accepted at its first attempt: nothing lost, nothing run twice; then runs new work.
    if (realAgent != null) {
      assertThat(realAgent.process.isAlive()).as(realAgent.logText()).isTrue();
      long acrossJob = across;
      long waitFrom = System.nanoTime();
      await()
          .atMost(Duration.ofSeconds(75))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> Jobs.get(admin, acrossJob).get("state").asString().equals("SUCCEEDED"));
      System.out.println(
          "---- the batch finished during the outage was accepted " + (System.nanoTime() - waitFrom) / 1_000_000
              + " ms after the recovery checks");
      assertThat(admin.get("/api/v1/jobs/" + acrossJob + "/results").body()).isEqualTo("finished-in-the-dark\n");
      var batch = admin.get("/api/v1/jobs/" + acrossJob + "/batches").json().get("items").get(0);
      assertThat(batch.get("attempts").asInt()).as("run once: %s", batch).isEqualTo(1);
      long agentJob = Jobs.submit(admin, Jobs.range("for the real agent", "true", 2, 1));
      long submitted = System.nanoTime();
      await()
          .atMost(Duration.ofSeconds(75))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> Jobs.get(admin, agentJob).get("state").asString().equals("SUCCEEDED"));
      System.out.println(
          "---- the real agent completed a new job " + (System.nanoTime() - submitted) / 1_000_000
              + " ms after it was submitted");
    }
    // No 500 was logged, and the engine never failed outside a group (its threads carried on).
    assertThat(server.logText())
        .doesNotContain("unexpected error serving")
        .doesNotContain("engine step failed")
        .contains("database unavailable, answering 503");
  }

  /**
   * Logs in through the dashboard's form as a browser does (CSRF token from the form, session cookie); the answer's
   * body is where the login redirects to.
   */
  static Http.Response dashboardLogin(int port) {
    try {
      HttpClient browser =
          HttpClient.newBuilder()
              .cookieHandler(new CookieManager())
              .followRedirects(HttpClient.Redirect.NEVER)
              .connectTimeout(Duration.ofSeconds(5))
              .build();
      String page =
          browser
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/login")).GET().build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      Matcher csrf = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"").matcher(page);
      if (!csrf.find()) {
        throw new IllegalStateException("no CSRF token on the login page: " + page);
      }
      String form =
          "username=admin&password=" + URLEncoder.encode(Http.ADMIN_PASSWORD, StandardCharsets.UTF_8) + "&_csrf="
              + URLEncoder.encode(csrf.group(1), StandardCharsets.UTF_8);
      HttpResponse<String> r =
          browser.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/login"))
                  .timeout(Duration.ofSeconds(60))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .POST(HttpRequest.BodyPublishers.ofString(form))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return new Http.Response(
          r.statusCode(),
          r.headers().firstValue("Content-Type").orElse(null),
          r.headers().firstValue("Location").orElse(r.body()),
          r.headers());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static HeartbeatRequest heartbeat() {
    return new HeartbeatRequest(WorkerState.IDLE, "ready", 2, 2, List.of(), null);
  }

  static RegisterRequest register(String name) {
    return new RegisterRequest(
        Http.ENROLLMENT_TOKEN,
        name,
        new HostFacts(name, "Linux", "amd64", 2, 1L << 30, "test", "17"),
        1,
        Map.of());
  }
}
