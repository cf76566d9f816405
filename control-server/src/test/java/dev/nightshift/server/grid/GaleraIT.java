package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.GaleraCluster;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nightshift on a real multi-primary cluster engine: a 3-node MariaDB Galera cluster on loopback ports
 * ({@link GaleraCluster}), two server instances (the built jar) each connected to a different node of the same
 * database, four real agents (two per instance) working one job of 300 quick batches as fast as they can. Claims,
 * reports, heartbeats and enrollments on the two nodes touch the same rows (the job's counters, the batches the
 * claims scan), so transactions fail certification at COMMIT; the servers try them again ({@code
 * system/Transactions}) and every batch is accepted exactly once: one SUCCEEDED attempt and one result per batch,
 * the job's counters equal to the rows, as read on the third node that no server uses.
 *
 * <p>{@code -Dgalera.maxTries=1} starts the servers with {@code nightshift.transactions.max-tries=1} (no retries; 16
 * otherwise): the test then fails on the calls the servers had to give up. Skipped (with the reason) without {@code mariadbd} or
 * Debian's {@code galera-4} ({@code .ci/run} installs them).
 */
class GaleraIT {
  static final String DATABASE = "nightshift_galera";
  static final int BATCHES = 300;
  static final int BATCH_SIZE = 10;
  /**
   * The servers' {@code nightshift.transactions.max-tries}: 16, as docs/cluster.md advises for multi-primary. This
   * job is contention at its worst (zero-work batches, both nodes writing the one job row all the time); with the
   * default 8, one claim in about every other run lost all its tries and was answered 500.
   */
  static final String MAX_TRIES = System.getProperty("galera.maxTries", "16");

  @TempDir static Path dir;
  static GaleraCluster cluster;
  static final List<ServerProcess> servers = new ArrayList<>();

  /** Why this machine cannot run the test, or null. */
  static String missing;

  @BeforeAll
  static void startClusterAndServers() throws Exception {
    // Checked here, assumed per test: an assumption failing in @BeforeAll would report zero tests, not a skipped one.
    missing = GaleraCluster.missing();
    if (missing == null && !java.nio.file.Files.exists(AgentProcess.JAR)) {
      missing = "no agent jar at " + AgentProcess.JAR + ": build worker-agent first";
    }
    if (missing != null) {
      System.out.println("GaleraIT skipped: " + missing);
      return;
    }
    long started = System.nanoTime();
    cluster = GaleraCluster.start(dir.resolve("galera"), 3);
    cluster.createDatabase(DATABASE);
    // One after the other: the first migrates the schema (Flyway, DDL replicated in total order), the second
    // finds it done.
    for (int i = 0; i < 2; i++) {
      Map<String, String> env = new LinkedHashMap<>(ServerProcess.fastLeases());
      env.put("SPRING_DATASOURCE_URL", cluster.node(i).serverUrl() + DATABASE);
      env.put("SPRING_DATASOURCE_USERNAME", "root");
      env.put("SPRING_DATASOURCE_PASSWORD", "");
      env.put("NIGHTSHIFT_TRANSACTIONS_MAX_TRIES", MAX_TRIES);
      // Every retry is logged at DEBUG with the engine's words and error code: counted below. (A class's level
      // cannot be set through the environment: Spring lower-cases the name.)
      servers.add(
          ServerProcess.startRaw(
              dir.resolve("server-" + (i + 1)), env,
              List.of("-Xmx384m", "-Dlogging.level.dev.nightshift.server.system.Transactions=DEBUG")));
    }
    pushToBothAndPromote();
    System.out.printf("GaleraIT: cluster and 2 servers up in %d s (max tries %s)%n",
        Duration.ofNanos(System.nanoTime() - started).toSeconds(), MAX_TRIES);
  }

  /**
   * The code repository lives in each instance's data dir: the same commit is pushed to both, then promoted once
   * (the release is a row of the shared database).
   */
  static void pushToBothAndPromote() throws Exception {
    try (CodeFixture code = CodeFixture.open(servers.get(0).port);
        Git git = Git.open(code.workTree().toFile())) {
      code.commit("1.0.0", Map.of("README", "galera test code\n"));
      for (ServerProcess server : servers) {
        git.push()
            .setRemote(server.url() + "/git/code.git")
            .setRefSpecs(new RefSpec("refs/heads/main:refs/heads/main"))
            .setForce(true)
            .setCredentialsProvider(new UsernamePasswordCredentialsProvider("admin", Http.ADMIN_PASSWORD))
            .call();
      }
      code.promote("main");
    }
  }

  /** Where the servers', agents' and nodes' logs are kept after the run (the temporary directory goes). */
  static final Path KEPT_LOGS = Path.of("target/galera-it-logs").toAbsolutePath();

  @AfterAll
  static void stop() throws java.io.IOException {
    servers.forEach(ServerProcess::close);
    if (cluster != null && java.nio.file.Files.isDirectory(dir)) {
      if (java.nio.file.Files.isDirectory(KEPT_LOGS)) {
        try (var old = java.nio.file.Files.list(KEPT_LOGS)) {
          for (Path p : old.toList()) {
            java.nio.file.Files.delete(p);
          }
        }
      }
      java.nio.file.Files.createDirectories(KEPT_LOGS);
      try (var logs = java.nio.file.Files.walk(dir)) {
        for (Path log :
            logs.filter(p -> p.getFileName().toString().matches("agent-\\d+\\.log|server\\.log|mariadbd\\.log"))
                .toList()) {
          java.nio.file.Files.copy(
              log, KEPT_LOGS.resolve(dir.relativize(log).toString().replace('/', '_')),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void runnableHere() {
    Assumptions.assumeTrue(missing == null, missing);
  }

  @Test
  void twoServersOnTwoNodesFourAgentsEveryBatchAcceptedExactlyOnce() throws Exception {
    long certFailuresBefore = cluster.sum("wsrep_local_cert_failures");
    long bfAbortsBefore = cluster.sum("wsrep_local_bf_aborts");
    long started = System.nanoTime();
    long jobId =
        Jobs.submit(
            servers.get(1).admin(),
            Jobs.range(
                "galera", "echo \"$NIGHTSHIFT_RANGE_START-$NIGHTSHIFT_RANGE_END\"", (long) BATCHES * BATCH_SIZE,
                BATCH_SIZE));
    List<AgentProcess> agents = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        ServerProcess server = servers.get(i % 2);
        agents.add(
            AgentProcess.start(
                "run", server.url(), dir.resolve("agent-" + i), "agent-" + i + ".log", "--slots", "2",
                "--name", "galera-agent-" + i));
      }
      // Read on the third node, which no server uses: what the cluster agreed on.
      String url = cluster.node(2).serverUrl() + DATABASE;
      // Done when the job is; stuck when every batch row is SUCCEEDED and the job still is not 30 s later (its
      // counters and its rows disagree: what a partial commit leaves). Either way the checks below say which.
      long[] allBatchesDoneSince = {0};
      await()
          .atMost(Duration.ofMinutes(10))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> {
            if (Jobs.get(servers.get(0).admin(), jobId).get("state").asString().equals("SUCCEEDED")) {
              return true;
            }
            if (!"0".equals(query(url, "SELECT COUNT(*) FROM batch WHERE job_id = " + jobId
                + " AND state <> 'SUCCEEDED'"))) {
              allBatchesDoneSince[0] = 0;
              return false;
            }
            if (allBatchesDoneSince[0] == 0) {
              allBatchesDoneSince[0] = System.nanoTime();
            }
            return System.nanoTime() - allBatchesDoneSince[0] > Duration.ofSeconds(30).toNanos();
          });
      long runSeconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();

      // One statement, so one snapshot: the job row's counters against its batch rows by state.
      assertThat(
              query(url, "SELECT CONCAT_WS(',', pending_count, leased_count, succeeded_count, '/',"
                  + " (SELECT COUNT(*) FROM batch b WHERE b.job_id = j.id AND b.state = 'PENDING'),"
                  + " (SELECT COUNT(*) FROM batch b WHERE b.job_id = j.id AND b.state = 'LEASED'),"
                  + " (SELECT COUNT(*) FROM batch b WHERE b.job_id = j.id AND b.state = 'SUCCEEDED'))"
                  + " FROM job j WHERE j.id = " + jobId))
          .as("the job's pending, leased and succeeded counters / its batch rows in those states (a difference is"
              + " a group whose counter changes committed without its rows; see the servers' logs in "
              + KEPT_LOGS + ")")
          .isEqualTo("0,0," + BATCHES + ",/,0,0," + BATCHES);
      await().atMost(Duration.ofSeconds(30)).until(() -> query(url, "SELECT state FROM job WHERE id = " + jobId)
          .equals("SUCCEEDED"));
      assertThat(query(url, "SELECT COUNT(*) FROM batch WHERE job_id = " + jobId)).isEqualTo("" + BATCHES);
      assertThat(query(url, "SELECT COUNT(*) FROM batch WHERE job_id = " + jobId + " AND state <> 'SUCCEEDED'"))
          .isEqualTo("0");
      assertThat(query(url, "SELECT COUNT(*) FROM batch_result WHERE job_id = " + jobId)).isEqualTo("" + BATCHES);
      assertThat(
              query(url, "SELECT COUNT(*) FROM (SELECT batch_id FROM attempt WHERE job_id = " + jobId
                  + " AND outcome = 'SUCCEEDED' GROUP BY batch_id HAVING COUNT(*) = 1) once"))
          .as("batches with exactly one SUCCEEDED attempt")
          .isEqualTo("" + BATCHES);
      assertThat(query(url, "SELECT COUNT(*) FROM attempt WHERE job_id = " + jobId + " AND outcome = 'SUCCEEDED'"))
          .isEqualTo("" + BATCHES);
      assertThat(query(url, "SELECT SUM(attempts) FROM batch WHERE job_id = " + jobId))
          .as("the batches' attempt counters equal the attempt rows")
          .isEqualTo(query(url, "SELECT COUNT(*) FROM attempt WHERE job_id = " + jobId));
      assertThat(
              query(url, "SELECT CONCAT_WS(',', batch_count, pending_count, leased_count, succeeded_count,"
                  + " dead_count, cancelled_count, succeeded_items, item_count) FROM job WHERE id = " + jobId))
          .as("job counters: batches, pending, leased, succeeded, dead, cancelled, succeeded items, items")
          .isEqualTo(BATCHES + ",0,0," + BATCHES + ",0,0," + BATCHES * BATCH_SIZE + "," + BATCHES * BATCH_SIZE);

      // Through the other instance: every range's output once.
      String results = servers.get(1).admin().get("/api/v1/jobs/" + jobId + "/results").body();
      Map<String, Long> seen = results.lines().collect(Collectors.groupingBy(l -> l, Collectors.counting()));
      assertThat(seen).hasSize(BATCHES);
      assertThat(seen.values()).allMatch(n -> n == 1);

      // What it took: retries the servers made (metric and DEBUG log lines naming WSREP) and the engine's counts.
      long retries = 0;
      long retryLines = 0;
      long givenUp = 0;
      List<String> errors = new ArrayList<>();
      for (ServerProcess server : servers) {
        retries += lockRetries(server);
        String log = server.logText();
        retryLines += log.lines().filter(l -> l.contains("retrying in")).count();
        givenUp += log.lines().filter(l -> l.contains("giving up")).count();
        log.lines().filter(l -> l.contains("giving up")).limit(3).forEach(l -> System.out.println("GaleraIT: " + l));
        log.lines().filter(l -> l.contains(" ERROR ")).forEach(errors::add);
      }
      System.out.printf(
          "GaleraIT: %d batches in %d s; %d transactions retried (%d retries logged), %d gave up;"
              + " cluster: %d certification failures, %d brute-force aborts; %d ERROR lines in the servers' logs%n",
          BATCHES, runSeconds, retries, retryLines, givenUp,
          cluster.sum("wsrep_local_cert_failures") - certFailuresBefore,
          cluster.sum("wsrep_local_bf_aborts") - bfAbortsBefore, errors.size());
      // A transaction that lost every try fails its call (500, logged at ERROR); the batch engine first tries a
      // failed group's requests one at a time, so a group giving up alone is no failure.
      assertThat(errors)
          .as("calls the servers failed (nightshift.transactions.max-tries=" + MAX_TRIES + ")")
          .isEmpty();
    } finally {
      agents.forEach(AgentProcess::close);
    }
  }

  static String query(String url, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "root", "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? String.valueOf(rs.getString(1)) : null;
    }
  }

  private static final Pattern LOCK_RETRIES = Pattern.compile("(?m)^nightshift_lock_retries_total\\S* (\\S+)$");

  static long lockRetries(ServerProcess server) {
    Http.Response r = server.admin().get("/actuator/prometheus");
    Matcher m = LOCK_RETRIES.matcher(r.body());
    return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
  }
}
