package dev.nightshift.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.ServerProcess;
import dev.nightshift.server.testing.TestDatabase;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How fast each dashboard page answers with 10,000 jobs, 1,000,000 batches and ~800,000 attempts in the database.
 * Not part of {@code ./mvnw verify} (its name matches neither *Test nor *IT); run it on its own:
 *
 * <pre>
 * ./mvnw -B -ntp install -DskipTests
 * ./mvnw -B -ntp -pl control-server verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=DashboardBenchmark -DNIGHTSHIFT_TEST_JDBC_URL=jdbc:mariadb://127.0.0.1:3306/
 * </pre>
 *
 * Rows are written straight into the tables with INSERT … SELECT over a numbers table (about a minute), then the
 * built server jar is started on that database and each page is requested 5 times to warm up and 20 times timed.
 * The table goes to stdout (target/failsafe-reports/…-output.txt).
 */
class DashboardBenchmark {
  static final int JOBS = 10_000;
  static final int ACTIVE_JOBS = 10;
  static final int HISTORY_BATCHES = 60;
  static final int ACTIVE_BATCHES = 40_060; // 9,990 × 60 + 10 × 40,060 = 1,000,000
  static final int WARMUP = 5;
  static final int RUNS = 20;

  @TempDir static Path dir;

  @Test
  void everyPageAnswersFastWithAMillionBatches() throws Exception {
    String[] db = TestDatabase.fresh();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SPRING_DATASOURCE_URL", db[0]);
    env.put("SPRING_DATASOURCE_USERNAME", db[1]);
    env.put("SPRING_DATASOURCE_PASSWORD", db[2]);
    // Start once so Flyway creates the schema, load, then measure on a fresh start (cold caches of the JVM).
    try (ServerProcess s = ServerProcess.startRaw(dir.resolve("schema"), env, List.of("-Xmx384m"))) {
      assertThat(s.port).isPositive();
    }
    long t0 = System.nanoTime();
    long[] rows = load(db);
    System.out.printf(
        "loaded %,d jobs, %,d batches, %,d attempts, %,d throughput rows in %.1f s%n",
        rows[0], rows[1], rows[2], rows[3], (System.nanoTime() - t0) / 1e9);
    assertThat(rows[1]).isEqualTo(1_000_000);

    try (ServerProcess server = ServerProcess.startRaw(dir.resolve("server"), env, List.of("-Xmx384m"))) {
      HttpClient client = login(server.port);
      long active = JOBS; // the newest job: RUNNING with 40,060 batches
      Map<String, String> pages = new LinkedHashMap<>();
      pages.put("overview", "/ui");
      pages.put("overview (live fragment)", "/ui?fragment=live");
      pages.put("jobs, first page", "/ui/jobs");
      pages.put("jobs, page 100 (keyset)", "/ui/jobs?before=5000");
      pages.put("jobs, state filter", "/ui/jobs?state=FAILED");
      pages.put("jobs, name filter", "/ui/jobs?name=report-123");
      pages.put("job detail, running (40k batches)", "/ui/jobs/" + active);
      pages.put("job detail (live fragment)", "/ui/jobs/" + active + "?fragment=live");
      pages.put("job detail, PENDING batches page", "/ui/jobs/" + active + "?batches=PENDING&after=30000");
      pages.put("job detail, finished job", "/ui/jobs/4321");
      pages.put("workers (50)", "/ui/workers");
      pages.put("code", "/ui/code");
      StringBuilder table = new StringBuilder();
      table.append(String.format("%n| page | median ms | max ms |%n|---|---:|---:|%n"));
      double worst = 0;
      for (Map.Entry<String, String> page : pages.entrySet()) {
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < WARMUP + RUNS; i++) {
          long start = System.nanoTime();
          HttpResponse<String> r = get(client, server.port, page.getValue());
          double ms = (System.nanoTime() - start) / 1e6;
          assertThat(r.statusCode()).as(page.getValue()).isEqualTo(200);
          assertThat(r.body()).as(page.getValue()).doesNotContain("Exception");
          if (i >= WARMUP) {
            times.add(ms);
          }
        }
        Collections.sort(times);
        double median = (times.get(RUNS / 2 - 1) + times.get(RUNS / 2)) / 2;
        double max = times.get(times.size() - 1);
        worst = Math.max(worst, median);
        table.append(String.format("| %s `%s` | %.1f | %.1f |%n", page.getKey(), page.getValue(), median, max));
      }
      System.out.println(table);
      assertThat(worst).as("every page's median under 200 ms").isLessThan(200);
    }
  }

  /** Writes the data set; returns the row counts of job, batch, attempt and throughput. */
  static long[] load(String[] db) throws Exception {
    try (Connection c = DriverManager.getConnection(db[0], db[1], db[2]);
        Statement s = c.createStatement()) {
      s.execute("SET SESSION unique_checks = 0");
      s.execute("CREATE TEMPORARY TABLE digit (d INT NOT NULL PRIMARY KEY)");
      s.execute("INSERT INTO digit VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)");
      s.execute("CREATE TEMPORARY TABLE num (n INT NOT NULL PRIMARY KEY)");
      s.execute(
          "INSERT INTO num SELECT a.d + 10 * b.d + 100 * c.d + 1000 * d.d + 10000 * e.d"
              + " FROM digit a, digit b, digit c, digit d, digit e");
      String now = "UTC_TIMESTAMP(6)";
      // Jobs: 9,990 finished (mostly SUCCEEDED, some FAILED or CANCELLED), then 10 RUNNING.
      s.execute(
          "INSERT INTO job (id, name, command, state, priority, batch_size, max_attempts, timeout_seconds,"
              + " max_parallel, env, labels, commit_sha, input_kind, item_count, batch_count, pending_count,"
              + " leased_count, succeeded_count, dead_count, cancelled_count, succeeded_items, submitted_by,"
              + " created_at, started_at, finished_at, updated_at)"
              + " SELECT n + 1, CONCAT('report-', n + 1), 'php run.php', CASE WHEN n % 50 = 7 THEN 'FAILED'"
              + " WHEN n % 97 = 3 THEN 'CANCELLED' ELSE 'SUCCEEDED' END, 0, 100, 3, 3600, NULL, '{}', '{}',"
              + " NULL, 'ITEMS', " + HISTORY_BATCHES * 100 + ", " + HISTORY_BATCHES + ", 0, 0, "
              + HISTORY_BATCHES + ", 0, 0, " + HISTORY_BATCHES * 100 + ", 'admin',"
              + " " + now + " - INTERVAL (" + JOBS + " - n) MINUTE, " + now + " - INTERVAL (" + JOBS
              + " - n) MINUTE, " + now + " - INTERVAL (" + JOBS + " - n - 1) MINUTE, " + now
              + " FROM num WHERE n < " + (JOBS - ACTIVE_JOBS));
      s.execute(
          "INSERT INTO job (id, name, command, state, priority, batch_size, max_attempts, timeout_seconds,"
              + " max_parallel, env, labels, commit_sha, input_kind, item_count, batch_count, pending_count,"
              + " leased_count, succeeded_count, dead_count, cancelled_count, succeeded_items, submitted_by,"
              + " created_at, started_at, finished_at, updated_at)"
              + " SELECT n + 1, CONCAT('nightly-', n + 1), 'php run.php', 'RUNNING', n % 3, 100, 3, 3600,"
              + " NULL, '{}', '{}', NULL, 'ITEMS', " + ACTIVE_BATCHES * 100L + ", " + ACTIVE_BATCHES + ", "
              + (ACTIVE_BATCHES - 20_020) + ", 10, 20000, 10, 0, 2000000, 'admin', " + now
              + " - INTERVAL 2 HOUR, " + now + " - INTERVAL 2 HOUR, NULL, " + now
              + " FROM num WHERE n >= " + (JOBS - ACTIVE_JOBS) + " AND n < " + JOBS);
      // Workers: 50, most online (heartbeat now), a few offline.
      s.execute(
          "INSERT INTO worker (id, name, token_hash, hostname, os, labels, slots, free_slots, state, state_reason,"
              + " registered_at, last_heartbeat_at) SELECT CONCAT('00000000-0000-0000-0000-', LPAD(n, 12, '0')),"
              + " CONCAT('pc-', LPAD(n, 3, '0')), SHA2(n, 256), CONCAT('pc-', n), 'Windows 11', '{}', 2,"
              + " IF(n < 5, 0, 2), IF(n < 5, 'BUSY', IF(n < 40, 'OWNER_ACTIVE', 'IDLE')), 'benchmark',"
              + " " + now + ", IF(n >= 45, " + now + " - INTERVAL 1 DAY, " + now + ")"
              + " FROM num WHERE n < 50");
      // Batches: history jobs all SUCCEEDED; each active job 20,000 SUCCEEDED, 10 LEASED, 10 DEAD, rest PENDING.
      s.execute(
          "INSERT INTO batch (job_id, seq, state, item_count, attempts, failures, not_before, worker_id,"
              + " lease_token, leased_at, lease_expires_at, lease_deadline, finished_at)"
              + " SELECT j.id, n.n,"
              + " CASE WHEN j.state <> 'RUNNING' OR n.n < 20000 THEN 'SUCCEEDED' WHEN n.n < 20010 THEN 'LEASED'"
              + " WHEN n.n < 20020 THEN 'DEAD' ELSE 'PENDING' END, 100,"
              + " IF(j.state <> 'RUNNING' OR n.n < 20020, 1, 0), IF(j.state = 'RUNNING' AND n.n >= 20010"
              + " AND n.n < 20020, 1, 0), j.created_at,"
              + " IF(j.state = 'RUNNING' AND n.n >= 20000 AND n.n < 20010,"
              + " CONCAT('00000000-0000-0000-0000-', LPAD(n.n % 5, 12, '0')), NULL),"
              + " IF(j.state = 'RUNNING' AND n.n >= 20000 AND n.n < 20010, CONCAT('tok-', j.id, '-', n.n), NULL),"
              + " IF(j.state = 'RUNNING' AND n.n >= 20000 AND n.n < 20010, " + now + ", NULL),"
              + " IF(j.state = 'RUNNING' AND n.n >= 20000 AND n.n < 20010, " + now + " + INTERVAL 1 DAY, NULL),"
              + " IF(j.state = 'RUNNING' AND n.n >= 20000 AND n.n < 20010, " + now + " + INTERVAL 1 DAY, NULL),"
              + " IF(j.state <> 'RUNNING' OR n.n < 20000 OR (n.n >= 20010 AND n.n < 20020), j.created_at, NULL)"
              + " FROM job j JOIN num n ON n.n < j.batch_count ORDER BY j.id, n.n");
      // One attempt per batch that finished running; the DEAD ones failed with a log tail. A LEASED batch's running
      // attempt is its batch row (the attempt row is written when the lease ends).
      s.execute(
          "INSERT INTO attempt (batch_id, job_id, number, worker_id, lease_token, outcome, commit_sha, version,"
              + " claimed_at, started_at, finished_at, exit_code, error, log_tail, result_bytes)"
              + " SELECT b.id, b.job_id, 1, CONCAT('00000000-0000-0000-0000-', LPAD(b.id % 50, 12, '0')),"
              + " COALESCE(b.lease_token, CONCAT('a-', b.id)),"
              + " CASE b.state WHEN 'SUCCEEDED' THEN 'SUCCEEDED' WHEN 'DEAD' THEN 'FAILED' ELSE 'CANCELLED' END,"
              + " IF(b.job_id % 2 = 0, 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', '0f1e2d3c4b5a69788796a5b4c3d2e1f0aabbccdd'),"
              + " IF(b.job_id % 2 = 0, 'v2.4.1', 'v2.4.0'), b.not_before, b.not_before, b.finished_at,"
              + " CASE b.state WHEN 'SUCCEEDED' THEN 0 WHEN 'DEAD' THEN 2 ELSE NULL END,"
              + " IF(b.state = 'DEAD', 'exit code 2', NULL),"
              + " IF(b.state = 'DEAD', REPEAT('PHP Warning: upstream returned HTTP 503\\n', 100), NULL),"
              + " IF(b.state = 'SUCCEEDED', 4200, NULL)"
              + " FROM batch b WHERE b.state NOT IN ('PENDING', 'LEASED') ORDER BY b.id");
      // Throughput: each history job's minute, and the last 60 minutes of each running job.
      s.execute(
          "INSERT INTO throughput (job_id, minute, batches, items) SELECT id,"
              + " DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:00'), " + HISTORY_BATCHES + ", "
              + HISTORY_BATCHES * 100 + " FROM job WHERE state <> 'RUNNING'");
      s.execute(
          "INSERT INTO throughput (job_id, minute, batches, items) SELECT j.id,"
              + " DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL n.n MINUTE, '%Y-%m-%d %H:%i:00'), 20 + (n.n * 7 + j.id) % 30,"
              + " 100 * (20 + (n.n * 7 + j.id) % 30) FROM job j JOIN num n ON n.n < 60 WHERE j.state = 'RUNNING'");
      s.execute("ANALYZE TABLE job, batch, attempt, throughput, worker");
      return new long[] {
        count(s, "job"), count(s, "batch"), count(s, "attempt"), count(s, "throughput")
      };
    }
  }

  private static long count(Statement s, String table) throws Exception {
    try (var rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static HttpClient login(int port) throws Exception {
    return dev.nightshift.server.testing.DashboardSession.login(port);
  }

  static HttpResponse<String> get(HttpClient client, int port, String path) throws Exception {
    return dev.nightshift.server.testing.DashboardSession.get(client, port, path);
  }
}
