package dev.nightshift.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A real Prometheus (Debian's package) scrapes the server jar while a real agent runs a job: once with an
 * operator's API token (bearer), once with an admin's HTTP Basic, once without credentials (refused, so down).
 * The figures are then read back through Prometheus' query API. Skipped, with the reason, where
 * /usr/bin/prometheus (apt-get install prometheus; .ci/run does) or the agent jar is missing.
 */
class PrometheusScrapeIT {
  /** Debian's Prometheus; {@code -Dprometheus.binary=…} names another (or a missing one, to see the skip). */
  static final Path PROMETHEUS = Path.of(System.getProperty("prometheus.binary", "/usr/bin/prometheus"));
  static final String OPERATOR_PASSWORD = "scraper-password-1";

  @TempDir static Path dir;
  static ServerProcess server;
  static Process prometheus;
  static Path prometheusLog;
  static int prometheusPort;
  static final List<AgentProcess> agents = new ArrayList<>();
  static final HttpClient client = HttpClient.newHttpClient();

  /** Why this test cannot run here, or null. */
  static String missing;

  @BeforeAll
  static void start() throws Exception {
    // Checked here, assumed per test: an assumption failing in @BeforeAll would report zero tests, not skipped ones.
    if (!Files.isExecutable(PROMETHEUS)) {
      missing = "no " + PROMETHEUS + ": apt-get install prometheus (.ci/run does)";
    } else if (!Files.exists(AgentProcess.JAR)) {
      missing = "no agent jar at " + AgentProcess.JAR + ": build worker-agent first";
    }
    if (missing != null) {
      return;
    }
    // Production lease settings: no lease may expire on a busy machine, so the counts below are exact.
    Map<String, String> env = new LinkedHashMap<>();
    env.put("NIGHTSHIFT_METRICS_REFRESH", "1s");
    server = ServerProcess.start(dir.resolve("server"), env, List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);

    Http admin = server.admin();
    assertThat(
            admin.post("/api/v1/users", Map.of("username", "scraper", "password", OPERATOR_PASSWORD, "role",
                    "OPERATOR"))
                .status())
        .isEqualTo(201);
    Http.Response token = admin.post("/api/v1/api-tokens", Map.of("name", "prometheus", "username", "scraper"));
    assertThat(token.status()).as(token.toString()).isEqualTo(201);
    Path tokenFile = dir.resolve("nightshift.token");
    Files.writeString(tokenFile, token.json().get("token").asString());

    String target = "['127.0.0.1:" + server.port + "']";
    String config =
        String.join(
            "\n",
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "scrape_configs:",
            "  - job_name: nightshift",
            "    metrics_path: /actuator/prometheus",
            "    authorization:",
            "      type: Bearer",
            "      credentials_file: " + tokenFile,
            "    static_configs:",
            "      - targets: " + target,
            "  - job_name: nightshift-basic",
            "    metrics_path: /actuator/prometheus",
            "    basic_auth:",
            "      username: admin",
            "      password: " + Http.ADMIN_PASSWORD,
            "    static_configs:",
            "      - targets: " + target,
            "  - job_name: nightshift-anonymous",
            "    metrics_path: /actuator/prometheus",
            "    static_configs:",
            "      - targets: " + target,
            "");
    Path configFile = dir.resolve("prometheus.yml");
    Files.writeString(configFile, config);
    prometheusPort = freePort();
    prometheusLog = dir.resolve("prometheus.log");
    prometheus =
        new ProcessBuilder(
                PROMETHEUS.toString(),
                "--config.file=" + configFile,
                "--storage.tsdb.path=" + dir.resolve("prometheus-data"),
                "--web.listen-address=127.0.0.1:" + prometheusPort,
                "--log.level=warn")
            .redirectErrorStream(true)
            .redirectOutput(prometheusLog.toFile())
            .start();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> {
              if (!prometheus.isAlive()) {
                throw new IllegalStateException("prometheus exited: " + Files.readString(prometheusLog));
              }
              return get("/-/ready") == 200;
            });
  }

  @AfterAll
  static void stop() throws Exception {
    agents.forEach(AgentProcess::close);
    if (prometheus != null) {
      prometheus.destroy();
      if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
        prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void runnableHere() {
    assumeTrue(missing == null, missing);
  }

  @Test
  void prometheusScrapesTheDomainFiguresWithATokenOrBasicAndNotWithout() throws Exception {
    int batches = 3;
    long jobId =
        Jobs.submit(
            server.admin(),
            Map.of("name", "scraped", "command", "cat", "batchSize", 2, "items", List.of(1, 2, 3, 4, 5, 6)));
    agents.add(
        AgentProcess.start(
            "run", server.url(), dir.resolve("agent"), "agent.log", "--slots", "2", "--name", "scraped-agent"));
    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));

    // Both authenticated scrapes are up; the anonymous one is refused (401), so Prometheus marks it down.
    awaitValue("up{job=\"nightshift\"}", 1, true);
    awaitValue("up{job=\"nightshift-basic\"}", 1, true);
    awaitValue("up{job=\"nightshift-anonymous\"}", 0, true);

    String job = "job=\"nightshift\"";
    Map<String, Double> exactly = new LinkedHashMap<>();
    exactly.put("nightshift_completions_total{" + job + ",outcome=\"SUCCEEDED\"}", (double) batches);
    exactly.put("nightshift_reports_total{" + job + ",status=\"ACCEPTED\"}", (double) batches);
    exactly.put("nightshift_leases_granted_total{" + job + "}", (double) batches);
    exactly.put("nightshift_batches{" + job + ",state=\"SUCCEEDED\"}", (double) batches);
    exactly.put("sum(nightshift_batches{" + job + ",state=~\"PENDING|LEASED\"})", 0.0);
    exactly.put("nightshift_jobs{" + job + ",state=\"SUCCEEDED\"}", 1.0);
    exactly.put("sum(nightshift_workers{" + job + ",state!~\"OFFLINE|DISABLED\"})", 1.0);
    exactly.put("nightshift_leases_expired_total{" + job + "}", 0.0);
    exactly.forEach((query, value) -> awaitValue(query, value, true));

    Map<String, Double> atLeast = new LinkedHashMap<>();
    atLeast.put("nightshift_claims_total{" + job + ",result=\"granted\"}", 1.0);
    atLeast.put("nightshift_git_fetches_total{" + job + "}", 1.0);
    atLeast.put("sum(nightshift_dispatch_seconds_count{" + job + "})", (double) batches);
    atLeast.put("count(nightshift_dispatch_seconds_bucket{" + job + "})", 2.0);
    atLeast.put("nightshift_claims_parked{" + job + "}", 1.0); // the idle agent keeps a claim parked
    atLeast.put("nightshift_lock_retries_total{" + job + "}", 0.0);
    // beside the platform's figures
    atLeast.put("sum(jvm_memory_used_bytes{" + job + "})", 1.0);
    atLeast.put("sum(http_server_requests_seconds_count{" + job + "})", 1.0);
    atLeast.put("sum(hikaricp_connections{" + job + "})", 1.0);
    atLeast.forEach((query, value) -> awaitValue(query, value, false));
  }

  /** Waits until the query gives exactly (or at least) the value. */
  private static void awaitValue(String query, double expected, boolean exact) {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              double value = value(query);
              if (exact) {
                assertThat(value).as(query).isEqualTo(expected);
              } else {
                assertThat(value).as(query).isGreaterThanOrEqualTo(expected);
              }
            });
  }

  /** The value of an instant query that must give exactly one sample (else NaN, which fails every assertion). */
  private static double value(String query) throws IOException, InterruptedException {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + prometheusPort + "/api/v1/query?query="
                            + URLEncoder.encode(query, StandardCharsets.UTF_8)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(query + ": " + r.body()).isEqualTo(200);
    JsonNode result = Http.JSON.readTree(r.body()).get("data").get("result");
    if (result.size() != 1) {
      return Double.NaN;
    }
    return Double.parseDouble(result.get(0).get("value").get(1).asString());
  }

  private static int get(String path) {
    try {
      return client
          .send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prometheusPort + path)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
