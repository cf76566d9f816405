package dev.nightshift.server.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.jdbc.MySQL8JdbcCustomization;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.benchmarks.LoadAgent.Reports;
import dev.nightshift.server.benchmarks.LoadStats.ProcessUsage;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import dev.nightshift.server.testing.TestDatabase;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Queue throughput of Nightshift against db-scheduler on the same database server in the same run, and the time
 * from a submission to the lease on a waiting agent. Not part of the build; run with
 *
 * <pre>
 * ./mvnw -B -ntp -pl control-server -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=QueueBenchmark -DNIGHTSHIFT_TEST_JDBC_URL=jdbc:mariadb://127.0.0.1:3306/ \
 *     -Dbenchmark.batches=20000 -Dbenchmark.shapes=64x16,16x16 -Dbenchmark.reports=claim
 * </pre>
 *
 * Settings: {@code benchmark.batches} (N, default 20,000), {@code benchmark.shapes} (agents x slots, default
 * 8x64,64x16), {@code benchmark.reports} (claim: reports ride on the next claim; separate: one complete call per
 * batch), {@code benchmark.dbSchedulerThreads} (default 16,32,64; the best is compared),
 * {@code benchmark.dbSchedulerWarmupTasks} (default min(N, 10,000), unreported), {@code benchmark.warmupBatches}
 * (default max(N, 20,000), unreported), {@code benchmark.latencyRounds} (default 200), {@code
 * benchmark.latencyWarmupRounds} (default 50, unreported). Asserts correctness only (every batch exactly once, every report
 * ACCEPTED), never timings.
 */
class QueueBenchmark {
  static {
    LoadAgent.configureHttpClient();
  }

  @TempDir Path dir;

  record DbSchedulerRun(int threads, int tasks, double seconds) {
    double perSecond() {
      return tasks / seconds;
    }
  }

  record ShapeRun(
      String shape,
      int batches,
      double seconds,
      long requests,
      LoadStats stats,
      double serverCpu,
      ProcessUsage serverAfter) {
    double perSecond() {
      return batches / seconds;
    }
  }

  @Test
  void throughputAndSubmitToLease() throws Exception {
    int n = Integer.getInteger("benchmark.batches", 20_000);
    List<int[]> shapes =
        Arrays.stream(System.getProperty("benchmark.shapes", "8x64,64x16").split(","))
            .map(s -> Arrays.stream(s.trim().split("x")).mapToInt(Integer::parseInt).toArray())
            .toList();
    int[] threadCounts =
        Arrays.stream(System.getProperty("benchmark.dbSchedulerThreads", "16,32,64").split(","))
            .mapToInt(s -> Integer.parseInt(s.trim()))
            .toArray();
    int latencyRounds = Integer.getInteger("benchmark.latencyRounds", 200);
    int latencyWarmup = Integer.getInteger("benchmark.latencyWarmupRounds", 50);
    Reports mode = Reports.fromProperty();

    // a. db-scheduler, lock-and-fetch, on the same database server; a first round warms this JVM (not reported),
    // as the Nightshift server gets its warm-up below: both are compared warm.
    int dbWarmup = Integer.getInteger("benchmark.dbSchedulerWarmupTasks", Math.min(n, 10_000));
    if (dbWarmup > 0) {
      DbSchedulerRun w = dbScheduler(dbWarmup, threadCounts[0]);
      System.out.printf("db-scheduler warm-up %d threads: %.0f tasks/s (not reported)%n", w.threads, w.perSecond());
    }
    List<DbSchedulerRun> baseline = new ArrayList<>();
    for (int threads : threadCounts) {
      baseline.add(dbScheduler(n, threads));
      System.out.printf("db-scheduler %d threads: %.0f tasks/s%n", threads, baseline.get(baseline.size() - 1).perSecond());
    }
    DbSchedulerRun best =
        baseline.stream().max(java.util.Comparator.comparingDouble(DbSchedulerRun::perSecond)).orElseThrow();

    // b. Nightshift
    List<ShapeRun> runs = new ArrayList<>();
    long[] submitToLease;
    LoadStats latencyStats = new LoadStats();
    ProcessUsage serverEnd;
    ExecutorService executor = Executors.newFixedThreadPool(4);
    try (ServerProcess server =
        ServerProcess.start(dir.resolve("server"), Map.of(), serverJvmArgs())) {
      CodeFixture.ensureRelease(server.port);
      HttpClient client = LoadAgent.client(executor);
      // Warm-up (JIT, pools, caches), not reported. A short one left the server compiling and collecting through
      // the measured runs (JFR: C1/C2 threads at ~30 % of its CPU), so it is at least as long as a measured run.
      int warmup = Integer.getInteger("benchmark.warmupBatches", Math.max(n, 20_000));
      if (warmup > 0) {
        ShapeRun w = nightshift(server, client, warmup, shapes.get(0)[0], shapes.get(0)[1], mode);
        System.out.printf("warm-up %s: %.0f batches/s (not reported)%n", w.shape, w.perSecond());
      }
      for (int[] shape : shapes) {
        runs.add(nightshift(server, client, n, shape[0], shape[1], mode));
        ShapeRun r = runs.get(runs.size() - 1);
        System.out.printf("nightshift %s: %.0f batches/s%n", r.shape, r.perSecond());
      }
      // c. submit to lease on a parked claim
      // The submission path (Basic auth, JSON, the job's insert) runs a handful of times in the runs above, so its
      // first rounds would measure the JIT, not the server: unreported rounds first, as for the throughput runs.
      if (latencyWarmup > 0) {
        submitToLease(server, client, latencyWarmup, mode, latencyStats, "latency-warmup");
      }
      submitToLease = submitToLease(server, client, latencyRounds, mode, latencyStats, "latency");
      serverEnd = ProcessUsage.of(server.pid());
    } finally {
      executor.shutdownNow();
      ScaleBenchmark.keepServerLog(dir, "QueueBenchmark");
    }

    StringBuilder out = new StringBuilder();
    out.append(String.format("%nQUEUE BENCHMARK  (%,d batches of 1 item each; reports: %s; server -Xmx512m)%n", n, mode.name().toLowerCase()));
    out.append(String.format("%n  db-scheduler 16.12.0, lock-and-fetch (0.5, 1.0), %,d one-time no-op tasks, same MariaDB server%n", n));
    out.append(String.format("  %-10s %12s %12s%n", "threads", "seconds", "tasks/s"));
    for (DbSchedulerRun r : baseline) {
      out.append(String.format("  %-10d %12.2f %12.0f%n", r.threads, r.seconds, r.perSecond()));
    }
    out.append(String.format("%n  Nightshift, simulated agents (agents x slots), first claim to the last batch ACCEPTED%n"));
    out.append(String.format("  %-8s %9s %10s %9s %10s %12s %9s %9s%n", "shape", "seconds", "batches/s", "vs db-s", "req/batch", "server CPU s", "RSS MB", "peak MB"));
    for (ShapeRun r : runs) {
      out.append(
          String.format(
              "  %-8s %9.2f %10.0f %8.2fx %10.2f %12.1f %9d %9d%n",
              r.shape, r.seconds, r.perSecond(), r.perSecond() / best.perSecond(),
              r.requests / (double) r.batches, r.serverCpu, r.serverAfter.rssKb() / 1024, r.serverAfter.peakRssKb() / 1024));
    }
    for (ShapeRun r : runs) {
      out.append(String.format("%n  request latency, %s (%s)%n", r.shape, r.stats.requestCounts()));
      out.append(r.stats.latencyTable("    "));
    }
    long[] sorted = submitToLease.clone();
    Arrays.sort(sorted);
    out.append(
        String.format(
            "%n  submit (POST /api/v1/jobs, Basic auth each time) to lease on a parked claim, %d rounds after %d"
                + " unreported:%n    p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms%n    slowest rounds:",
            sorted.length, latencyWarmup, LoadStats.pct(sorted, 50) / 1000.0, LoadStats.pct(sorted, 90) / 1000.0,
            LoadStats.pct(sorted, 99) / 1000.0, LoadStats.max(sorted) / 1000.0));
    java.util.stream.IntStream.range(0, submitToLease.length).boxed()
        .sorted((a, b) -> Long.compare(submitToLease[b], submitToLease[a])).limit(5)
        .forEach(i -> out.append(String.format(" #%d %.1f ms", i + 1, submitToLease[i] / 1000.0)));
    out.append(String.format("%n"));
    out.append(String.format("%n  best db-scheduler: %d threads, %.0f tasks/s; server at the end: %s%n%n", best.threads, best.perSecond(), serverEnd));
    System.out.print(out);

    for (ShapeRun r : runs) {
      assertThat(r.stats.errors.get()).as(r.shape + " errors:\n    " + r.stats.errorSamples()).isZero();
    }
    assertThat(latencyStats.errors.get()).as("latency errors:\n    " + latencyStats.errorSamples()).isZero();
  }

  // ---- a. db-scheduler ----------------------------------------------------------------------------------------

  static DbSchedulerRun dbScheduler(int n, int threads) throws Exception {
    String[] db = TestDatabase.fresh();
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db[0]);
    config.setUsername(db[1]);
    config.setPassword(db[2]);
    config.setMaximumPoolSize(threads + 4);
    config.setPoolName("db-scheduler-" + threads);
    try (HikariDataSource ds = new HikariDataSource(config)) {
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        // db-scheduler's MySQL/MariaDB table (its test resources mysql_tables.sql / mariadb_tables.sql)
        s.execute(
            """
            create table scheduled_tasks (
              task_name varchar(100) not null,
              task_instance varchar(100) not null,
              task_data blob,
              execution_time timestamp(6) not null,
              picked boolean not null,
              picked_by varchar(50),
              last_success timestamp(6) null,
              last_failure timestamp(6) null,
              consecutive_failures int,
              last_heartbeat timestamp(6) null,
              version bigint not null,
              priority smallint,
              primary key (task_name, task_instance),
              index execution_time_idx (execution_time),
              index last_heartbeat_idx (last_heartbeat),
              index priority_execution_time_idx (priority desc, execution_time asc)
            )""");
      }
      CountDownLatch executed = new CountDownLatch(n);
      OneTimeTask<Void> noop = Tasks.oneTime("noop").execute((instance, context) -> executed.countDown());
      // db-scheduler's MariaDB dialect says it cannot lock-and-fetch; MariaDB 10.6+ has SKIP LOCKED after
      // LIMIT, exactly the statement of its MySQL 8 dialect.
      MySQL8JdbcCustomization dialect = new MySQL8JdbcCustomization(true);
      SchedulerClient client = SchedulerClient.Builder.create(ds, noop).jdbcCustomization(dialect).build();
      Instant due = Instant.now().minusSeconds(1);
      List<TaskInstance<?>> instances = new ArrayList<>(1000);
      for (int i = 0; i < n; i++) {
        instances.add(noop.instance("t" + i));
        if (instances.size() == 1000 || i == n - 1) {
          client.scheduleBatch(instances, due);
          instances.clear();
        }
      }
      Scheduler scheduler =
          Scheduler.create(ds, noop)
              .threads(threads)
              .pollUsingLockAndFetch(0.5, 1.0)
              .pollingInterval(Duration.ofSeconds(1))
              .jdbcCustomization(dialect)
              .build();
      long start = System.nanoTime();
      scheduler.start();
      try {
        assertThat(executed.await(15, TimeUnit.MINUTES)).as("db-scheduler ran every task").isTrue();
        // executed = handler ran; done = its row deleted (the completion), as a Nightshift batch is done when
        // its result is recorded
        while (rows(ds) > 0) {
          Thread.sleep(10);
        }
        return new DbSchedulerRun(threads, n, (System.nanoTime() - start) / 1e9);
      } finally {
        scheduler.stop();
      }
    }
  }

  private static long rows(HikariDataSource ds) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select count(*) from scheduled_tasks")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  // ---- b. Nightshift ------------------------------------------------------------------------------------------

  static ShapeRun nightshift(ServerProcess server, HttpClient client, int n, int agentCount, int slots, Reports mode)
      throws Exception {
    String shape = agentCount + "x" + slots;
    LoadStats stats = new LoadStats();
    List<LoadAgent> agents = new ArrayList<>();
    List<CompletableFuture<LoadAgent>> enrolling =
        IntStream.range(0, agentCount)
            .mapToObj(i -> LoadAgent.enroll(client, server.url(), "load-" + shape + "-" + i, slots, stats))
            .toList();
    for (CompletableFuture<LoadAgent> a : enrolling) {
      agents.add(a.get(60, TimeUnit.SECONDS));
    }
    Http admin = server.admin();
    long jobId = Jobs.submit(admin, Jobs.range("bench-" + shape, "true", n, 1));

    AtomicBoolean stop = new AtomicBoolean();
    ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
    for (LoadAgent a : agents) {
      heartbeats.scheduleAtFixedRate(
          () -> a.heartbeat(WorkerState.BUSY), ThreadLocalRandom.current().nextLong(30_000), 30_000,
          TimeUnit.MILLISECONDS);
    }
    ProcessUsage before = ProcessUsage.of(server.pid());
    long requestsBefore = stats.requests();
    long start = System.nanoTime();
    List<CompletableFuture<Void>> loops = new ArrayList<>();
    for (LoadAgent a : agents) {
      loops.add(a.work(mode, 30_000, stop::get));
    }
    long deadline = start + TimeUnit.MINUTES.toNanos(15);
    while (stats.accepted.get() < n) {
      if (System.nanoTime() > deadline || loops.stream().anyMatch(CompletableFuture::isCompletedExceptionally)) {
        throw new AssertionError(
            shape + ": " + stats.accepted.get() + " of " + n + " accepted; errors:\n    " + stats.errorSamples());
      }
      Thread.sleep(1);
    }
    long end = System.nanoTime();
    long requests = stats.requests() - requestsBefore;
    ProcessUsage after = ProcessUsage.of(server.pid());
    stop.set(true);
    heartbeats.shutdownNow();
    // A stopping agent says OFFLINE: the server answers its parked claim at once and the loop ends.
    CompletableFuture.allOf(agents.stream().map(a -> a.heartbeat(WorkerState.OFFLINE)).toArray(CompletableFuture[]::new))
        .get(60, TimeUnit.SECONDS);
    CompletableFuture.allOf(loops.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

    // Exactly once: the job succeeded with N batches, N result lines, each batch's once.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> Jobs.get(admin, jobId).get("state").asString().equals("SUCCEEDED"));
    assertThat(Jobs.get(admin, jobId).get("counts").get("succeeded").asLong()).isEqualTo(n);
    Http.Response results = admin.get("/api/v1/jobs/" + jobId + "/results");
    assertThat(results.status()).isEqualTo(200);
    List<String> lines = results.body().lines().toList();
    Set<String> distinct = new HashSet<>(lines);
    assertThat(lines).as(shape + " result lines").hasSize(n);
    assertThat(distinct).as(shape + " distinct result lines").hasSize(n);
    assertThat(stats.accepted.get()).as(shape + " reports accepted").isEqualTo(n);
    return new ShapeRun(shape, n, (end - start) / 1e9, requests, stats, after.cpuSince(before), after);
  }

  // ---- c. submit to lease -------------------------------------------------------------------------------------

  static long[] submitToLease(
      ServerProcess server, HttpClient client, int rounds, Reports mode, LoadStats stats, String name)
      throws Exception {
    LoadAgent agent = LoadAgent.enroll(client, server.url(), name, 1, stats).get(60, TimeUnit.SECONDS);
    long acceptedBefore = stats.accepted.get();
    long[] micros = new long[rounds];
    for (int round = 0; round < rounds; round++) {
      CompletableFuture<List<Lease>> parked = agent.claim(1, 30_000, List.of());
      CompletableFuture<Long> answeredAt = parked.thenApply(l -> System.nanoTime());
      Thread.sleep(50); // the claim is parked (the server found no work)
      if (parked.isDone()) {
        throw new AssertionError("round " + round + ": claim answered before the submission: " + parked.get());
      }
      Map<String, Object> job = new java.util.LinkedHashMap<>();
      job.put("name", name + "-" + round);
      job.put("command", "true");
      job.put("batchSize", 1);
      job.put("items", List.of(round));
      long start = System.nanoTime();
      // a fresh Basic-authenticated caller every time, as an admin's script would be (no session)
      Http.Response r = Http.admin(server.port).post("/api/v1/jobs", job);
      assertThat(r.status()).as(r.toString()).isEqualTo(201);
      long jobId = r.json().get("id").asLong();
      List<Lease> leases = parked.get(30, TimeUnit.SECONDS);
      micros[round] = (answeredAt.get() - start) / 1000;
      assertThat(leases).as("round " + round).hasSize(1);
      assertThat(leases.get(0).jobId()).isEqualTo(jobId);
      List<dev.nightshift.protocol.CompleteRequest> report = List.of(LoadAgent.success(leases.get(0)));
      if (mode == Reports.CLAIM) {
        agent.claim(1, 0, report).get(30, TimeUnit.SECONDS); // nothing pending: answered empty at once
      } else {
        agent.completeSeparately(report).get(30, TimeUnit.SECONDS);
      }
    }
    assertThat(stats.accepted.get() - acceptedBefore).as("latency jobs' reports accepted").isEqualTo(rounds);
    agent.heartbeat(WorkerState.OFFLINE).get(30, TimeUnit.SECONDS);
    return micros;
  }

  /** -Xmx512m, plus -Dbenchmark.serverJvmArgs (space-separated; e.g. a JFR recording to profile the server). */
  static List<String> serverJvmArgs() {
    List<String> args = new java.util.ArrayList<>(List.of("-Xmx512m"));
    String extra = System.getProperty("benchmark.serverJvmArgs", "").trim();
    if (!extra.isEmpty()) {
      args.addAll(List.of(extra.split("\\s+")));
    }
    return args;
  }
}
