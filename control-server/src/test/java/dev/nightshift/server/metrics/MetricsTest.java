package dev.nightshift.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.Lease;
import dev.nightshift.server.batches.LeaseService;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MutableClock;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * The Prometheus endpoint: the domain figures follow what agents do over the real protocol, the JVM, HTTP and pool
 * figures are there, and the Grafana dashboard in deploy/ asks only for series the server exports (and shows every
 * domain figure), so it cannot rot when a meter is renamed.
 */
@NightshiftTest
class MetricsTest {
  static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "nightshift.json");
  /** Metric families a dashboard expression may name: the domain's and the platform's. */
  static final Pattern METRIC =
      Pattern.compile("\\b((?:nightshift|jvm|process|system|http|hikaricp|jdbc|tomcat|executor|logback)_[a-zA-Z0-9_]+)");

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired MutableClock clock;
  @Autowired LeaseService leases;
  @Autowired DomainGauges gauges;

  @BeforeEach
  void quiet() {
    Db.reset(jdbc);
    CodeFixture.ensureRelease(port);
  }

  /** A scrape with fresh database figures. */
  Scrape scrape() {
    gauges.forget();
    return scrapeAsIs();
  }

  Scrape scrapeAsIs() {
    Http.Response r = Http.admin(port).get("/actuator/prometheus");
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("text/plain");
    return Scrape.parse(r.body());
  }

  @Test
  void theDomainFiguresFollowTheProtocol() {
    Scrape before = scrape();
    TestAgent agent = TestAgent.enroll(port, "metrics-agent", 2, Map.of());
    assertThat(agent.claim(2, 0)).as("nothing queued yet").isEmpty();
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("metrics", "true", 4, 1));

    List<Lease> first = agent.claim(2, 0);
    assertThat(first).hasSize(2);
    assertThat(agent.complete(first.get(0), "ok\n").status()).isEqualTo(200);
    assertThat(agent.complete(first.get(0), "ok\n").json().get("status").asString()).isEqualTo("DUPLICATE");
    Lease failed = first.get(1);
    Instant now = Instant.now();
    assertThat(
            agent.http.post(
                    AgentPaths.FAIL,
                    new FailRequest(failed.batchId(), failed.leaseToken(), failed.commit(), failed.version(),
                        AttemptOutcome.FAILED, 1, now, now, "", "boom"))
                .status())
        .isEqualTo(200);
    List<Lease> second = agent.claim(2, 0);
    assertThat(second).hasSize(2);
    clock.advance(Duration.ofMinutes(2).plusSeconds(1)); // past the 2-minute lease
    assertThat(leases.reapExpiredLeases()).isEqualTo(2);

    Scrape after = scrape();
    assertThat(delta(before, after, "nightshift_claims_total{result=\"granted\"}")).isEqualTo(2);
    assertThat(delta(before, after, "nightshift_claims_total{result=\"empty\"}")).isEqualTo(1);
    assertThat(delta(before, after, "nightshift_leases_granted_total")).isEqualTo(4);
    assertThat(delta(before, after, "nightshift_reports_total{status=\"ACCEPTED\"}")).isEqualTo(2);
    assertThat(delta(before, after, "nightshift_reports_total{status=\"DUPLICATE\"}")).isEqualTo(1);
    assertThat(delta(before, after, "nightshift_completions_total{outcome=\"SUCCEEDED\"}")).isEqualTo(1);
    assertThat(delta(before, after, "nightshift_completions_total{outcome=\"FAILED\"}")).isEqualTo(1);
    assertThat(delta(before, after, "nightshift_leases_expired_total")).isEqualTo(2);
    assertThat(after.sum("nightshift_dispatch_seconds_count") - before.sum("nightshift_dispatch_seconds_count"))
        .as("every claim and report through the engine is timed")
        .isGreaterThanOrEqualTo(5);
    assertThat(after.names()).contains("nightshift_dispatch_seconds_bucket");

    JsonNode counts = Jobs.get(Http.admin(port), jobId).get("counts");
    assertThat(after.value("nightshift_batches{state=\"SUCCEEDED\"}")).isEqualTo(counts.get("succeeded").asInt());
    assertThat(after.value("nightshift_batches{state=\"PENDING\"}")).isEqualTo(counts.get("pending").asInt());
    assertThat(after.value("nightshift_batches{state=\"LEASED\"}")).isZero();
    assertThat(after.sum("nightshift_batches")).isEqualTo(4);
    assertThat(after.value("nightshift_jobs{state=\"RUNNING\"}") + after.value("nightshift_jobs{state=\"QUEUED\"}"))
        .isEqualTo(1);
    assertThat(after.sum("nightshift_workers")).isEqualTo(1);
    assertThat(after.names())
        .contains(
            "nightshift_claims_parked",
            "nightshift_lock_retries_total",
            "nightshift_git_fetches_total",
            "nightshift_git_fetch_bytes_total");
  }

  /** Scrapers cost the database one read per refresh interval (10 s), not one per scrape or per meter. */
  @Test
  void theDatabaseFiguresAreReadOncePerRefreshInterval() {
    long started = System.nanoTime();
    assertThat(scrape().sum("nightshift_jobs")).isZero();
    Jobs.submit(Http.admin(port), Jobs.range("cached", "true", 2, 1));
    double cached = scrapeAsIs().sum("nightshift_jobs");
    if (Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(9)) < 0) {
      assertThat(cached).as("read again within the refresh interval").isZero();
    }
    assertThat(scrape().sum("nightshift_jobs")).as("after the interval (forgotten here)").isEqualTo(1);
  }

  @Test
  void theEndpointRefusesCallersWithoutCredentialsLikeTheApi() {
    Http.Response r = Http.anonymous(port).get("/actuator/prometheus");
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.isProblem()).as(r.toString()).isTrue();
    assertThat(r.detail()).contains("Bearer");
  }

  @Test
  void theServerExportsTheJvmHttpAndPoolFigures() {
    Http.admin(port).get("/api/v1/jobs"); // at least one timed HTTP request
    assertThat(scrape().names())
        .contains(
            "jvm_memory_used_bytes",
            "jvm_gc_pause_seconds_count",
            "jvm_threads_live_threads",
            "process_cpu_usage",
            "http_server_requests_seconds_count",
            "hikaricp_connections_active",
            "hikaricp_connections_pending");
  }

  @Test
  void theGrafanaDashboardAsksOnlyForExportedSeriesAndShowsEveryDomainFigure() throws IOException {
    Http.admin(port).get("/api/v1/jobs");
    Set<String> exported = scrape().names();
    JsonNode board = Http.JSON.readTree(Files.readString(DASHBOARD));
    assertThat(board.get("title").asString()).isNotBlank();
    List<String> exprs = new ArrayList<>();
    collect(board, exprs);
    assertThat(exprs).as("the dashboard's PromQL expressions").isNotEmpty();

    Set<String> named = new TreeSet<>();
    List<String> unknown = new ArrayList<>();
    for (String expr : exprs) {
      Matcher m = METRIC.matcher(expr);
      boolean any = false;
      while (m.find()) {
        any = true;
        named.add(m.group(1));
        if (!exported.contains(m.group(1))) {
          unknown.add(m.group(1) + " in " + expr);
        }
      }
      assertThat(any).as("an expression naming a metric: " + expr).isTrue();
    }
    assertThat(unknown).as("series the server does not export").isEmpty();
    Set<String> domain = new TreeSet<>();
    for (String name : exported) {
      if (name.startsWith("nightshift_") && !name.endsWith("_max") && !name.endsWith("_sum")
          && !name.endsWith("_count")) {
        domain.add(name);
      }
    }
    assertThat(named).as("every domain figure has a panel").containsAll(domain);
  }

  private static void collect(JsonNode node, List<String> exprs) {
    if (node.isObject()) {
      for (var e : node.properties()) {
        if (e.getKey().equals("expr") && e.getValue().isString()) {
          exprs.add(e.getValue().asString());
        } else {
          collect(e.getValue(), exprs);
        }
      }
    } else if (node.isArray()) {
      node.forEach(n -> collect(n, exprs));
    }
  }

  private static double delta(Scrape before, Scrape after, String series) {
    assertThat(after.samples()).as("exported: " + series).containsKey(series);
    return after.value(series) - before.value(series);
  }
}
