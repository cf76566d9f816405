package dev.nightshift.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import dev.nightshift.server.testing.TestDatabase;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;
import tools.jackson.databind.JsonNode;

/**
 * The dashboard in a real headless Chromium against the built server jar with two real agent processes: pages
 * show the real data, progress moves without a reload, each admin action works, an OPERATOR sees no buttons and
 * a forged POST is refused, a POST without the CSRF token is refused, and the "why" text appears for jobs that
 * cannot run. Skipped (with the reason) where /usr/bin/chromium or /usr/bin/chromedriver is missing.
 *
 * <p>Screenshots go to target/dashboard-screenshots; with {@code -Ddashboard.screenshots=<dir>} also there
 * (e.g. {@code ../docs/screenshots}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserIT {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final String OPERATOR_PASSWORD = "operator-test-password";

  @TempDir static Path dir;
  static ServerProcess server;
  static final List<AgentProcess> agents = new ArrayList<>();
  static final List<ChromeDriverService> services = new ArrayList<>();
  static WebDriver admin;
  static WebDriver operator;

  /** Why this suite cannot run here, or null. */
  static String missing;

  @BeforeAll
  static void start() throws Exception {
    // Checked here, assumed per test: an assumption failing in @BeforeAll would report zero tests, not skipped ones.
    if (!Files.isExecutable(CHROMIUM)) {
      missing = "no " + CHROMIUM + ": apt-get install chromium chromium-driver (.ci/run does)";
    } else if (!Files.isExecutable(CHROMEDRIVER)) {
      missing = "no " + CHROMEDRIVER + ": apt-get install chromium-driver (.ci/run does)";
    } else if (!Files.exists(AgentProcess.JAR)) {
      missing = "no agent jar at " + AgentProcess.JAR + ": build worker-agent first";
    }
    if (missing != null) {
      return;
    }
    System.setProperty("SE_OFFLINE", "true"); // Selenium Manager must never run (no downloads)

    String[] db = TestDatabase.fresh();
    Map<String, String> env = new LinkedHashMap<>(ServerProcess.fastLeases());
    env.put("SPRING_DATASOURCE_URL", db[0]);
    env.put("SPRING_DATASOURCE_USERNAME", db[1]);
    env.put("SPRING_DATASOURCE_PASSWORD", db[2]);
    server = ServerProcess.startRaw(dir.resolve("server"), env, List.of("-Xmx384m"));
    dev.nightshift.server.testing.CodeFixture.ensureRelease(server.port);
    try (Connection c = DriverManager.getConnection(db[0], db[1], db[2]);
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO app_user (username, password_hash, role, enabled, created_at)"
                    + " VALUES ('operator', ?, 'OPERATOR', TRUE, UTC_TIMESTAMP(6))")) {
      s.setString(1, new BCryptPasswordEncoder().encode(OPERATOR_PASSWORD));
      s.executeUpdate();
    }
    agents.add(agent("alpha", "2"));
    agents.add(agent("beta", "1"));
    await().atMost(Duration.ofSeconds(60)).until(() -> online("alpha") && online("beta"));

    admin = browser();
    login(admin, "admin", Http.ADMIN_PASSWORD);
    operator = browser();
    login(operator, "operator", OPERATOR_PASSWORD);
  }

  @org.junit.jupiter.api.BeforeEach
  void runnableHere() {
    assumeTrue(missing == null, missing);
  }

  static AgentProcess agent(String name, String slots) throws Exception {
    return AgentProcess.start(
        "run", server.url(), dir.resolve(name), name + ".log", "--slots", slots, "--name", name,
        "--label", "os=linux");
  }

  @AfterAll
  static void stop() {
    // Agents and the server are closed whatever the browser does on the way out.
    try {
      for (WebDriver d : new WebDriver[] {admin, operator}) {
        if (d != null) {
          try {
            d.quit();
          } catch (RuntimeException e) {
            System.err.println("browser did not quit cleanly: " + e.getMessage());
          }
        }
      }
      services.forEach(ChromeDriverService::stop);
    } finally {
      agents.forEach(AgentProcess::close);
      if (server != null) {
        server.close();
      }
    }
  }

  /** A headless Chromium with its own explicit driver service (quitting a driver stops its service). */
  static WebDriver browser() throws Exception {
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .withLogFile(dir.resolve("chromedriver-" + services.size() + ".log").toFile())
            .build();
    service.start();
    services.add(service);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--window-size=1440,1000", "--lang=en-US");
    WebDriver d = new ChromeDriver(service, options);
    d.manage().timeouts().implicitlyWait(Duration.ZERO);
    d.manage().window().setSize(new Dimension(1440, 1000));
    return d;
  }

  static void login(WebDriver d, String user, String password) {
    d.get(server.url() + "/ui");
    assertThat(d.getCurrentUrl()).endsWith("/login");
    d.findElement(By.id("username")).sendKeys(user);
    d.findElement(By.id("password")).sendKeys(password);
    d.findElement(By.id("login")).click();
    await().atMost(Duration.ofSeconds(10)).until(() -> d.getCurrentUrl().matches(".*/ui(\\?.*)?"));
  }

  // ------------------------------------------------------------------------------------------------ helpers

  static Http api() {
    return server.admin();
  }

  static JsonNode worker(String name) {
    for (JsonNode w : api().get("/api/v1/workers").json().get("items")) {
      if (w.get("name").asString().equals(name)) {
        return w;
      }
    }
    return null;
  }

  static boolean online(String name) {
    JsonNode w = worker(name);
    return w != null && !w.get("state").asString().equals("OFFLINE");
  }

  static long submit(String name, String command, int items, int batchSize, Map<String, Object> extra) {
    Map<String, Object> job = Jobs.range(name, command, items, batchSize);
    job.put("timeoutSeconds", 120);
    job.putAll(extra);
    return Jobs.submit(api(), job);
  }

  static String state(long job) {
    return Jobs.get(api(), job).get("state").asString();
  }

  static String text(WebDriver d, String css) {
    return retry(() -> {
      List<WebElement> found = d.findElements(By.cssSelector(css));
      return found.isEmpty() ? "" : found.get(0).getText();
    });
  }

  /** Clicks, retrying when the live refresh replaced the element in between. */
  static void click(WebDriver d, String css) {
    await()
        .atMost(Duration.ofSeconds(15))
        .ignoreException(StaleElementReferenceException.class)
        .ignoreException(org.openqa.selenium.NoSuchElementException.class)
        .until(() -> {
          d.findElement(By.cssSelector(css)).click();
          return true;
        });
  }

  static <T> T retry(Supplier<T> read) {
    for (int i = 0; ; i++) {
      try {
        return read.get();
      } catch (StaleElementReferenceException e) {
        if (i > 20) {
          throw e;
        }
      }
    }
  }

  /** A POST from the page's own JavaScript, as a forged form would send it; returns the HTTP status. */
  static long post(WebDriver d, String path, String body) {
    Object status =
        ((JavascriptExecutor) d)
            .executeAsyncScript(
                "var done = arguments[arguments.length - 1];"
                    + "fetch(arguments[0], {method: 'POST', redirect: 'manual', body: arguments[1],"
                    + " headers: {'Content-Type': 'application/x-www-form-urlencoded'}})"
                    + ".then(function (r) { done(r.status); }, function (e) { done(-1); });",
                path,
                body);
    return ((Number) status).longValue();
  }

  static String csrf(WebDriver d) {
    return (String)
        ((JavascriptExecutor) d).executeScript("return document.querySelector('input[name=_csrf]').value");
  }

  // ------------------------------------------------------------------------------------------------ tests

  @Test
  @Order(1)
  void pagesRenderTheRealData() {
    long id = submit("render-check", "cat", 40, 10, Map.of());
    await().atMost(Duration.ofSeconds(60)).until(() -> state(id).equals("SUCCEEDED"));

    admin.get(server.url() + "/ui");
    assertThat(text(admin, "main")).containsIgnoringCase("Jobs").containsIgnoringCase("Throughput, last hour")
        .contains("40 items in 4 batches");
    assertThat(text(admin, "main")).contains("of 2 online").containsIgnoringCase("Code release").contains("1.0.0");

    admin.get(server.url() + "/ui/jobs");
    assertThat(text(admin, "tr[data-job='" + id + "']")).contains("render-check").contains("SUCCEEDED")
        .contains("100.0%").contains("40 / 40");

    admin.get(server.url() + "/ui/jobs/" + id);
    assertThat(text(admin, "#batch-counts")).contains("4 SUCCEEDED");
    assertThat(text(admin, "main")).containsIgnoringCase("Recent attempts").containsPattern("(alpha|beta)");
    assertThat(admin.findElements(By.cssSelector("#batches tbody tr"))).hasSize(4);

    admin.get(server.url() + "/ui/workers");
    assertThat(text(admin, "tr[data-worker='alpha']")).contains("alpha").contains("os=linux").contains("/ 2");
    assertThat(text(admin, "tr[data-worker='beta']")).contains("/ 1");

    admin.get(server.url() + "/ui/code");
    assertThat(text(admin, "main")).contains("1.0.0").containsIgnoringCase("promoted by admin");
  }

  @Test
  @Order(9)
  void adminPromotesAndRollsBackFromTheCodePage() throws Exception {
    // A new version on top of main, pushed over Git as a developer would.
    Path work = dir.resolve("code-work");
    try (var git =
        org.eclipse.jgit.api.Git.cloneRepository()
            .setURI(server.url() + "/git/code.git")
            .setDirectory(work.toFile())
            .setCredentialsProvider(
                new org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider("admin", Http.ADMIN_PASSWORD))
            .call()) {
      java.nio.file.Files.writeString(work.resolve("VERSION"), "2.0.0\n");
      git.add().addFilepattern("VERSION").call();
      git.commit().setMessage("2.0.0").setAuthor("T", "t@x").call();
      git.push()
          .setCredentialsProvider(
              new org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider("admin", Http.ADMIN_PASSWORD))
          .call();
    }
    admin.get(server.url() + "/ui/code");
    admin.findElement(By.cssSelector("input[name=commit][placeholder]")).sendKeys("main");
    click(admin, "form.filters button[type=submit]");
    await().atMost(Duration.ofSeconds(15)).until(() -> text(admin, "main").contains("Promoted main"));
    assertThat(api().get("/api/v1/code").json().get("current").get("version").asString()).isEqualTo("2.0.0");

    click(admin, "form[data-confirm] button");
    admin.switchTo().alert().accept();
    await().atMost(Duration.ofSeconds(15)).until(() -> text(admin, "main").contains("Rolled back to"));
    var current = api().get("/api/v1/code").json().get("current");
    assertThat(current.get("version").asString()).isEqualTo("1.0.0");
    assertThat(current.get("rollback").asBoolean()).isTrue();
  }

  @Test
  @Order(2)
  void progressMovesLiveWithoutAReload() {
    long id = submit("live-progress", "sleep 1; cat", 300, 10, Map.of());
    admin.get(server.url() + "/ui/jobs/" + id);
    JavascriptExecutor js = (JavascriptExecutor) admin;
    js.executeScript("window.__notReloaded = 'still here';");
    double first = progress();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .until(() -> progress() > first);
    double later = progress();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> progress() > later);
    assertThat(js.executeScript("return window.__notReloaded")).as("the page was not reloaded").isEqualTo("still here");
    assertThat(text(admin, "#stamp")).startsWith("live ·");
    await().atMost(Duration.ofSeconds(90)).until(() -> state(id).equals("SUCCEEDED"));
    await().atMost(Duration.ofSeconds(10)).until(() -> progress() == 1.0);
  }

  static double progress() {
    return retry(() -> Double.parseDouble(admin.findElement(By.id("progress")).getAttribute("data-progress")));
  }

  @Test
  @Order(3)
  void whyTextForJobsThatCannotRun() {
    long gpu = submit("needs-gpu", "cat", 20, 10, Map.of("labels", Map.of("gpu", "yes")));
    admin.get(server.url() + "/ui/jobs/" + gpu);
    await().atMost(Duration.ofSeconds(10)).until(() -> text(admin, "#why").contains("Labels unmatched"));
    assertThat(text(admin, "#why")).contains("gpu=yes").contains("alpha [os=linux]");

    long paused = submit("paused-one", "sleep 1", 200, 1, Map.of());
    api().post("/api/v1/jobs/" + paused + "/pause", "");
    admin.get(server.url() + "/ui/jobs/" + paused);
    await().atMost(Duration.ofSeconds(10)).until(() -> text(admin, "#why").contains("Paused by an admin"));

    long throttled = submit("throttled", "sleep 3", 8, 1, Map.of("maxParallel", 1, "priority", 10));
    admin.get(server.url() + "/ui/jobs/" + throttled);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> text(admin, "#why").contains("maxParallel reached: 1 of at most 1"));

    // While other work runs, the overview names the job nobody can run.
    admin.get(server.url() + "/ui");
    await().atMost(Duration.ofSeconds(10))
        .until(() -> text(admin, ".problems").matches("(?s).*#" + gpu + " needs-gpu.*Labels unmatched.*"));

    for (long id : new long[] {gpu, paused, throttled}) {
      api().post("/api/v1/jobs/" + id + "/cancel", "");
    }
  }

  @Test
  @Order(4)
  void adminPausesResumesAndCancels() {
    long id = submit("to-control", "sleep 2", 40, 1, Map.of());
    admin.get(server.url() + "/ui/jobs/" + id);
    click(admin, "#pause");
    await().atMost(Duration.ofSeconds(10)).until(() -> state(id).equals("PAUSED"));
    assertThat(text(admin, ".flash.ok")).contains("paused");
    assertThat(text(admin, "#job-state")).isEqualTo("PAUSED");

    click(admin, "#resume");
    await().atMost(Duration.ofSeconds(10)).until(() -> List.of("RUNNING", "QUEUED").contains(state(id)));

    click(admin, "#cancel");
    admin.switchTo().alert().accept();
    await().atMost(Duration.ofSeconds(10)).until(() -> state(id).equals("CANCELLED"));
    await().atMost(Duration.ofSeconds(10)).until(() -> text(admin, "#job-state").equals("CANCELLED"));
    assertThat(admin.findElements(By.id("cancel"))).isEmpty();
  }

  @Test
  @Order(5)
  void adminRetriesDeadBatches() {
    Path marker = dir.resolve("retry-marker");
    // Fails the first time it runs, succeeds after the retry.
    String command = "if [ -f '" + marker + "' ]; then cat; else touch '" + marker + "'; echo 'disk full' >&2; exit 3; fi";
    long id = submit("fails-once", command, 5, 5, Map.of("maxAttempts", 1));
    await().atMost(Duration.ofSeconds(60)).until(() -> state(id).equals("FAILED"));
    admin.get(server.url() + "/ui/jobs/" + id);
    assertThat(text(admin, ".failure")).contains("FAILED").contains("DEAD").contains("exit 3");
    click(admin, ".failure summary");
    assertThat(text(admin, ".failure pre.log")).contains("disk full");
    click(admin, "#retry");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(id).equals("SUCCEEDED"));
    assertThat(Jobs.get(api(), id).get("counts").get("dead").asInt()).isZero();
  }

  @Test
  @Order(6)
  void adminDrainsAndResumesAWorker() {
    admin.get(server.url() + "/ui/workers");
    click(admin, "tr[data-worker='beta'] button.drain");
    await().atMost(Duration.ofSeconds(10)).until(() -> !worker("beta").path("drainedAt").isNull());
    await().atMost(Duration.ofSeconds(20)).until(() -> worker("beta").get("state").asString().equals("DRAINING"));
    await().atMost(Duration.ofSeconds(10)).until(() -> text(admin, "tr[data-worker='beta'] .state").equals("DRAINING"));

    // A drained worker takes nothing: a job's batches all go to alpha.
    long id = submit("while-beta-drained", "cat", 6, 1, Map.of());
    await().atMost(Duration.ofSeconds(60)).until(() -> state(id).equals("SUCCEEDED"));
    for (JsonNode a : api().get("/api/v1/jobs/" + id + "/batches?limit=10").json().get("items")) {
      JsonNode b = api().get("/api/v1/batches/" + a.get("id").asLong()).json();
      assertThat(b.get("attemptHistory").get(0).get("workerId").asString()).isEqualTo(worker("alpha").get("id").asString());
    }

    click(admin, "tr[data-worker='beta'] button.resume");
    await().atMost(Duration.ofSeconds(10)).until(() -> worker("beta").path("drainedAt").isNull());
    await().atMost(Duration.ofSeconds(20)).until(() -> !worker("beta").get("state").asString().equals("DRAINING"));
  }

  @Test
  @Order(7)
  void operatorSeesEverythingAndCanDoNothing() {
    long id = submit("operator-watch", "sleep 2", 30, 1, Map.of());
    operator.get(server.url() + "/ui/jobs/" + id);
    assertThat(text(operator, "header")).contains("OPERATOR (read-only)");
    assertThat(text(operator, "main")).contains("operator-watch");
    assertThat(operator.findElements(By.cssSelector("#pause, #resume, #cancel, #retry"))).isEmpty();
    assertThat(operator.findElements(By.cssSelector("main form[method=post]"))).isEmpty();
    operator.get(server.url() + "/ui/workers");
    assertThat(text(operator, "tr[data-worker='alpha']")).contains("alpha");
    assertThat(operator.findElements(By.cssSelector("button.drain, button.resume"))).isEmpty();

    // A forged POST with a valid session and CSRF token is still refused: OPERATOR is read-only.
    String token = csrf(operator);
    assertThat(post(operator, "/ui/jobs/" + id + "/cancel", "_csrf=" + token)).isEqualTo(403);
    assertThat(post(operator, "/ui/workers/" + worker("alpha").get("id").asString() + "/drain", "_csrf=" + token))
        .isEqualTo(403);
    assertThat(state(id)).isNotEqualTo("CANCELLED");
    assertThat(worker("alpha").path("drainedAt").isNull()).isTrue();
    assertThat(Http.basic(server.port, "operator", OPERATOR_PASSWORD).post("/api/v1/jobs/" + id + "/cancel", "").status())
        .isEqualTo(403);
    api().post("/api/v1/jobs/" + id + "/cancel", "");
  }

  @Test
  @Order(8)
  void aPostWithoutTheCsrfTokenIsRefused() {
    long id = submit("csrf-target", "sleep 2", 30, 1, Map.of());
    admin.get(server.url() + "/ui/jobs/" + id);
    assertThat(post(admin, "/ui/jobs/" + id + "/cancel", "")).isEqualTo(403);
    assertThat(post(admin, "/ui/jobs/" + id + "/cancel", "_csrf=forged")).isEqualTo(403);
    assertThat(state(id)).isNotEqualTo("CANCELLED");
    // The same admin, with the page's token, may.
    assertThat(post(admin, "/ui/jobs/" + id + "/cancel", "_csrf=" + csrf(admin))).isIn(0L, 302L);
    await().atMost(Duration.ofSeconds(10)).until(() -> state(id).equals("CANCELLED"));
  }

  @Test
  @Order(9)
  void screenshotsOfARealisticRun() throws Exception {
    // A realistic mix: one failed job with logs, one finished, one paused, one waiting for labels, one running.
    long nightly = submit("nightly-export", "cat", 400, 20, Map.of());
    String flaky = "if [ $((NIGHTSHIFT_RANGE_START % 50)) -eq 0 ]; then echo \"ERROR: record $NIGHTSHIFT_RANGE_START:"
        + " upstream returned HTTP 503\" >&2; exit 2; fi; sleep 0.5; echo ok";
    long invoices = submit("invoice-reconcile", flaky, 200, 10, Map.of("maxAttempts", 2));
    submit("ocr-scans (windows)", "cat", 300, 10, Map.of("labels", Map.of("os", "windows")));
    long held = submit("geo-reindex", "sleep 1", 500, 10, Map.of("priority", -1));
    api().post("/api/v1/jobs/" + held + "/pause", "");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(nightly).equals("SUCCEEDED"));
    await().atMost(Duration.ofSeconds(90)).until(() -> state(invoices).equals("FAILED"));
    long running = submit("thumbnails-2026-11", "sleep 2; cat", 3000, 25, Map.of("priority", 5));
    await().atMost(Duration.ofSeconds(60)).until(() -> Jobs.get(api(), running).get("counts").get("succeeded").asInt() >= 6);

    Path out = Path.of("target/dashboard-screenshots");
    Files.createDirectories(out);
    admin.manage().window().setSize(new Dimension(1440, 1180));
    shoot(out, "overview", "/ui");
    shoot(out, "jobs", "/ui/jobs");
    shoot(out, "job-running", "/ui/jobs/" + running);
    admin.get(server.url() + "/ui/jobs/" + invoices);
    click(admin, ".failure summary");
    shoot(out, "job-failed", null);
    shoot(out, "workers", "/ui/workers");
    String copyTo = System.getProperty("dashboard.screenshots");
    if (copyTo != null && !copyTo.isBlank()) {
      Path target = Files.createDirectories(Path.of(copyTo));
      try (var files = Files.list(out)) {
        for (Path p : files.toList()) {
          Files.copy(p, target.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    api().post("/api/v1/jobs/" + running + "/cancel", "");
  }

  static void shoot(Path out, String name, String path) throws Exception {
    if (path != null) {
      admin.get(server.url() + path);
    }
    Thread.sleep(300); // let the layout settle (fonts); not waiting for a condition
    File png = ((TakesScreenshot) admin).getScreenshotAs(OutputType.FILE);
    Files.copy(png.toPath(), out.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }
}
