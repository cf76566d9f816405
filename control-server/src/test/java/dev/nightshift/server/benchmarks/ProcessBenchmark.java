package dev.nightshift.server.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.metrics.Scrape;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.ServerProcess;
import dev.nightshift.server.testing.TestDatabase;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Real processes through Nightshift against a bare Java spawn loop (issue 9). Not part of the build; run with
 * {@code ./mvnw -B -ntp -pl worker-agent,control-server -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
 * -Dfailsafe.failIfNoSpecifiedTests=false -Dit.test=ProcessBenchmark -DNIGHTSHIFT_TEST_JDBC_URL=jdbc:mariadb://127.0.0.1:3306/}
 * ({@code -Dbenchmark.items=2000}, {@code -Dbenchmark.warmupItems} (default: items), {@code
 * -Dbenchmark.latencyRounds=100}, {@code -Dbenchmark.jstackSamples=12}).
 *
 * <ol>
 *   <li><b>Baseline</b>: 8 threads spawn the agent's exact command line for each item ({@code nice -n 10 sh -c cat}
 *       where {@code /usr/bin/nice} exists, as {@code RunnerConfig.platformShell}), write the item line to stdin,
 *       read stdout fully, wait for the exit. Run before and after the Nightshift runs; their mean is the
 *       reference.
 *   <li><b>Nightshift</b>: the built server jar and real agent processes, 8 slots in all (1 agent x 8 slots, then
 *       2 agents x 4), a promoted commit, a job of N items, batchSize 1, command {@code cat}. Batches/s from the
 *       submit request to the job seen SUCCEEDED (polled every 20 ms), and over the attempts' window (first start
 *       to last finish as the agents reported them). Each item's result must appear exactly once.
 *   <li><b>Latency</b>: agents idle on their long-poll claim; a fresh HTTP client with Basic auth submits a 1-item
 *       job whose command prints {@code date +%s%N}; script start minus submit start, same clock.
 *   <li><b>Agent profile</b>: per-batch phases from the agent's log (ms timestamps), {@code jcmd Thread.print}
 *       samples of the 1x8 agent during an extra, unmeasured job, and the cost of one spool-style durable write.
 * </ol>
 *
 * Only correctness (exactly once) is asserted; the figures are printed.
 */
class ProcessBenchmark {
  private static final int SLOTS = 8;

  @TempDir Path dir;

  @Test
  void realProcessesAgainstABareSpawnLoop() throws Exception {
    int items = Integer.getInteger("benchmark.items", 2000);
    int latencyRounds = Integer.getInteger("benchmark.latencyRounds", 100);
    int jstackSamples = Integer.getInteger("benchmark.jstackSamples", 12);
    List<String> shell = platformShell();
    StringBuilder report = new StringBuilder();
    report.append(String.format(
        "%nPROCESS BENCHMARK: %d items, batchSize 1, command 'cat', %d slots in all, %d cores, shell %s%n",
        items, SLOTS, Runtime.getRuntime().availableProcessors(), shell));

    baseline(shell, Math.min(200, items), SLOTS); // warm-up: JIT, page cache
    Baseline before = baseline(shell, items, SLOTS);
    System.out.printf("baseline (before): %.1f spawns/s%n", before.perSecond());

    String[] db = TestDatabase.fresh();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("SPRING_DATASOURCE_URL", db[0]);
    env.put("SPRING_DATASOURCE_USERNAME", db[1]);
    env.put("SPRING_DATASOURCE_PASSWORD", db[2]);
    List<Run> runs = new ArrayList<>();
    Latency latency;
    Profile profile;
    double fsyncMillis;
    long attemptLogs;
    String loadBefore = loadAverage();
    try (ServerProcess server = ServerProcess.startRaw(dir.resolve("server"), env, List.of("-Xmx384m"));
        CodeFixture code = CodeFixture.open(server.port);
        Connection sql = DriverManager.getConnection(db[0], db[1], db[2])) {
      code.commit("1.0.0", Map.of("process.sh", "#!/bin/sh\ncat\n"));
      code.push("main");
      code.promote("main");
      Http poller = Http.bearer(server.port, apiToken(server));

      // 1 agent x 8 slots
      List<AgentProcess> agents = startAgents(server, List.of(SLOTS), "one");
      try {
        warmUp(server, poller, items);
        runs.add(nightshift(server, poller, sql, "1 agent x 8 slots", items, agents));
        profile = profile(server, poller, agents.get(0), Math.max(300, Math.min(600, items / 4)), jstackSamples);
        latency = latency(server, poller, sql, latencyRounds);
      } finally {
        agents.forEach(AgentProcess::close);
      }
      fsyncMillis = durableWriteMillis(agents.get(0).dataDir.resolve("spool"));
      try (var files = Files.list(agents.get(0).dataDir.resolve("logs/attempts"))) {
        attemptLogs = files.count();
      }

      // 2 agents x 4 slots
      agents = startAgents(server, List.of(SLOTS / 2, SLOTS / 2), "two");
      try {
        warmUp(server, poller, items);
        runs.add(nightshift(server, poller, sql, "2 agents x 4 slots", items, agents));
      } finally {
        agents.forEach(AgentProcess::close);
      }
    }

    Baseline after = baseline(shell, items, SLOTS);
    System.out.printf("baseline (after): %.1f spawns/s%n", after.perSecond());
    double reference = (before.perSecond() + after.perSecond()) / 2;

    report.append(String.format("load average (1/5/15 min) at start: %s, at end: %s%n", loadBefore, loadAverage()));
    report.append(String.format("%nTHROUGHPUT (same run; reference = mean of the two baselines)%n"));
    report.append(String.format("| %-34s | %9s | %9s | %8s | %8s |%n", "", "seconds", "per s", "ratio", "attempts"));
    report.append(String.format("|%s|%s|%s|%s|%s|%n", "-".repeat(36), "-".repeat(11), "-".repeat(11),
        "-".repeat(10), "-".repeat(10)));
    row(report, "baseline before (8 threads)", before.seconds(), before.perSecond(), reference, items);
    row(report, "baseline after (8 threads)", after.seconds(), after.perSecond(), reference, items);
    row(report, "baseline mean", items / reference, reference, reference, items);
    for (Run r : runs) {
      row(report, r.label() + ", submit to SUCCEEDED", r.wallSeconds(), items / r.wallSeconds(), reference,
          r.attempts());
      row(report, r.label() + ", attempts' window", r.windowSeconds(), items / r.windowSeconds(), reference,
          r.attempts());
    }
    for (Run r : runs) {
      report.append(String.format(
          "%s: submit answered in %.0f ms; first script start %.0f ms after submit; last finish to SUCCEEDED seen %.0f ms%n",
          r.label(), r.submitMillis(), r.firstStartMillis(), r.tailMillis()));
      report.append(r.claims());
      report.append(r.phases());
    }

    report.append(String.format("%nSUBMIT TO SCRIPT START (%d rounds, 1-item jobs, agents idle on their long poll)%n",
        latency.rounds()));
    report.append(String.format("| %-44s | %8s | %8s | %8s | %8s |%n", "ms", "p50", "p90", "p99", "max"));
    report.append(String.format("|%s|%s|%s|%s|%s|%n", "-".repeat(46), "-".repeat(10), "-".repeat(10),
        "-".repeat(10), "-".repeat(10)));
    pctRow(report, "submit start to script start", latency.startMillis());
    pctRow(report, "  submit HTTP round trip (Basic auth)", latency.submitMillis());
    pctRow(report, "  submit start to claimed (server clock)", latency.claimMillis());
    pctRow(report, "  claimed to script start (agent side)", latency.agentMillis());
    pctRow(report, "authenticated GET round trip, Basic", latency.basicGetMillis());
    pctRow(report, "authenticated GET round trip, API token", latency.tokenGetMillis());
    report.append(String.format("rounds over 100 ms: %d of %d%n", latency.over100(), latency.rounds()));

    report.append(String.format("%nAGENT PROFILE (1 agent x 8 slots, %d-item job, unmeasured)%n", profile.items()));
    report.append(profile.phases());
    report.append(String.format("one spool-style durable write (write + fsync + rename + directory fsync) on this disk: "
        + "median %.2f ms%n", fsyncMillis));
    report.append(String.format("files in the 1x8 agent's logs/attempts after its runs: %d (one per attempt)%n",
        attemptLogs));
    report.append(profile.stacks());
    System.out.println(report);
    Files.writeString(Path.of("target", "process-benchmark.txt"), report.toString());

    for (Run r : runs) {
      assertThat(r.resultsExactlyOnce()).as(r.label() + ": every item's result exactly once").isTrue();
    }
  }

  // ---------------------------------------------------------------- baseline

  record Baseline(int items, double seconds) {
    double perSecond() {
      return items / seconds;
    }
  }

  /** The agent's command line: {@code RunnerConfig.platformShell} (Unix branch) plus the command. */
  static List<String> platformShell() {
    for (String nice : new String[] {"/usr/bin/nice", "/bin/nice"}) {
      if (Files.isExecutable(Path.of(nice))) {
        return List.of(nice, "-n", "10", "sh", "-c");
      }
    }
    return List.of("sh", "-c");
  }

  /** A hand-written runner: per item spawn the shell with the command, item on stdin, stdout read, exit awaited. */
  static Baseline baseline(List<String> shell, int items, int threads) throws Exception {
    List<String> command = new ArrayList<>(shell);
    command.add("cat");
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    long start = System.nanoTime();
    try {
      List<Future<Integer>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          int ran = 0;
          for (int i = next.getAndIncrement(); i < items; i = next.getAndIncrement()) {
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (OutputStream in = p.getOutputStream()) {
              in.write((i + "\n").getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0 || !out.equals(i + "\n")) {
              throw new IllegalStateException("item " + i + ": exit " + p.exitValue() + ", output '" + out + "'");
            }
            ran++;
          }
          return ran;
        }));
      }
      int ran = 0;
      for (Future<Integer> f : done) {
        ran += f.get();
      }
      assertThat(ran).isEqualTo(items);
    } finally {
      pool.shutdown();
    }
    return new Baseline(items, (System.nanoTime() - start) / 1e9);
  }

  // ---------------------------------------------------------------- Nightshift

  record Run(
      String label,
      double wallSeconds,
      double windowSeconds,
      double submitMillis,
      double firstStartMillis,
      double tailMillis,
      int attempts,
      boolean resultsExactlyOnce,
      String phases,
      String claims) {}

  static List<AgentProcess> startAgents(ServerProcess server, List<Integer> slots, String tag) throws Exception {
    List<AgentProcess> agents = new ArrayList<>();
    for (int i = 0; i < slots.size(); i++) {
      agents.add(AgentProcess.start("run", server.url(), server.dataDir.resolveSibling("agent-" + tag + "-" + i),
          "agent-" + tag + "-" + i + ".log", "--name", "bench-" + tag + "-" + i, "--slots",
          String.valueOf(slots.get(i))));
      SLOTS_OF.put(agents.get(i).process.pid(), slots.get(i));
    }
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> online(server) == slots.size());
    return agents;
  }

  /**
   * A job first, unmeasured: agent JVMs, their HTTP connections and the server's paths warm up, code checked out.
   * As long as the measured one by default ({@code -Dbenchmark.warmupItems}): after a 200-item warm-up, JFR
   * recordings of the measured job showed the JIT compiler threads at about half of the server's CPU and a third of
   * the agent's, which a long-running grid does not pay.
   */
  static void warmUp(ServerProcess server, Http poller, int items) {
    int n = Math.max(50, Integer.getInteger("benchmark.warmupItems", items));
    long id = submit(server.admin(), "warm-up", "cat", n);
    awaitFinished(poller, id, Duration.ofMinutes(5));
  }

  static Run nightshift(ServerProcess server, Http poller, Connection sql, String label, int items,
      List<AgentProcess> agents) throws Exception {
    String body = jobBody("throughput " + label, "cat", IntStream.range(0, items).boxed().toList());
    Http admin = server.admin();
    Map<Long, Long> logSizes = logSizes(agents);
    Scrape metersBefore = scrape(server);
    Instant submitted = Instant.now();
    long t0 = System.nanoTime();
    Http.Response r = admin.post("/api/v1/jobs", body);
    long t1 = System.nanoTime();
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    long id = r.json().get("id").asLong();
    // 100 ms: a tighter poll is itself load on the server that runs the job (2 cores)
    JsonNode job = awaitFinished(poller, id, Duration.ofMinutes(30), 100);
    long t2 = System.nanoTime();
    Instant seenDone = Instant.now();
    assertThat(job.get("state").asString()).as(job.toString()).isEqualTo("SUCCEEDED");

    // exactly once: every item's output appears once in the results
    String results = admin.get("/api/v1/jobs/" + id + "/results").body();
    List<String> lines = results.lines().filter(l -> !l.isBlank()).toList();
    Map<String, Long> counts = lines.stream().collect(Collectors.groupingBy(l -> l, Collectors.counting()));
    boolean exactlyOnce = lines.size() == items
        && IntStream.range(0, items).allMatch(i -> counts.getOrDefault(String.valueOf(i), 0L) == 1L);

    Instant firstStart;
    Instant lastFinish;
    int attempts;
    try (PreparedStatement s = sql.prepareStatement(
        "SELECT MIN(started_at) AS first_start, MAX(finished_at) AS last_finish, COUNT(*) AS n,"
            + " SUM(outcome = 'SUCCEEDED') AS ok FROM attempt WHERE job_id = ?")) {
      s.setLong(1, id);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        firstStart = Times.instant(rs, "first_start");
        lastFinish = Times.instant(rs, "last_finish");
        attempts = rs.getInt("n");
        if (rs.getInt("ok") != items) {
          exactlyOnce = false;
        }
      }
    }
    String phases = phases(agents, logSizes, id);
    Scrape metersAfter = scrape(server);
    String grantedSeries = "nightshift_claims_total{result=\"granted\"}";
    String emptySeries = "nightshift_claims_total{result=\"empty\"}";
    double granted = metersAfter.value(grantedSeries) - metersBefore.value(grantedSeries);
    double empty = metersAfter.value(emptySeries) - metersBefore.value(emptySeries);
    double leases =
        metersAfter.sum("nightshift_leases_granted_total") - metersBefore.sum("nightshift_leases_granted_total");
    String claims = String.format(
        "  claims answered per batch: %.3f (%.0f with leases, %.0f empty); leases per claim with leases: %.2f%n",
        (granted + empty) / items, granted, empty, granted == 0 ? 0 : leases / granted);
    return new Run(label, (t2 - t0) / 1e9, Duration.between(firstStart, lastFinish).toNanos() / 1e9,
        (t1 - t0) / 1e6, Duration.between(submitted, firstStart).toNanos() / 1e6,
        Duration.between(lastFinish, seenDone).toNanos() / 1e6, attempts, exactlyOnce, phases, claims);
  }

  /** The server's meters now (its claim counters among them); the scrape itself is not a claim. */
  static Scrape scrape(ServerProcess server) {
    return Scrape.parse(server.admin().get("/actuator/prometheus").body());
  }

  // ---------------------------------------------------------------- latency

  record Latency(
      int rounds,
      double[] startMillis,
      double[] submitMillis,
      double[] claimMillis,
      double[] agentMillis,
      double[] basicGetMillis,
      double[] tokenGetMillis) {
    long over100() {
      return Arrays.stream(startMillis).filter(m -> m > 100).count();
    }
  }

  static Latency latency(ServerProcess server, Http poller, Connection sql, int rounds) throws Exception {
    String authorization = "Basic " + Base64.getEncoder().encodeToString(
        ("admin:" + Http.ADMIN_PASSWORD).getBytes(StandardCharsets.UTF_8));
    double[] start = new double[rounds];
    double[] submit = new double[rounds];
    double[] claim = new double[rounds];
    double[] agent = new double[rounds];
    double[] basicGet = new double[rounds];
    double[] tokenGet = new double[rounds];
    Thread.sleep(500); // the last throughput batches reported; agents back on their long poll
    for (int round = 0; round < rounds; round++) {
      HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpRequest request = HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/jobs"))
          .timeout(Duration.ofSeconds(60))
          .header("Authorization", authorization)
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(jobBody("latency " + round, "date +%s%N", List.of(round))))
          .build();
      Instant t0 = Instant.now();
      long n0 = System.nanoTime();
      HttpResponse<String> r = fresh.send(request, HttpResponse.BodyHandlers.ofString());
      submit[round] = (System.nanoTime() - n0) / 1e6;
      assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
      long id = Http.JSON.readTree(r.body()).get("id").asLong();
      JsonNode job = awaitFinished(poller, id, Duration.ofMinutes(2));
      assertThat(job.get("state").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
      String out = poller.get("/api/v1/jobs/" + id + "/results").body().strip();
      long scriptNanos = Long.parseLong(out);
      long submitNanos = t0.getEpochSecond() * 1_000_000_000L + t0.getNano();
      start[round] = (scriptNanos - submitNanos) / 1e6;
      try (PreparedStatement s = sql.prepareStatement("SELECT claimed_at FROM attempt WHERE job_id = ?")) {
        s.setLong(1, id);
        try (ResultSet rs = s.executeQuery()) {
          rs.next();
          Instant claimed = Times.instant(rs, "claimed_at");
          long claimedNanos = claimed.getEpochSecond() * 1_000_000_000L + claimed.getNano();
          claim[round] = (claimedNanos - submitNanos) / 1e6;
          agent[round] = (scriptNanos - claimedNanos) / 1e6;
        }
      }
      // what authentication alone costs per request (a fresh client each time, as the submit)
      HttpRequest get = HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/jobs/" + id))
          .header("Authorization", authorization).build();
      long g0 = System.nanoTime();
      HttpClient.newHttpClient().send(get, HttpResponse.BodyHandlers.discarding());
      basicGet[round] = (System.nanoTime() - g0) / 1e6;
      long g1 = System.nanoTime();
      poller.get("/api/v1/jobs/" + id);
      tokenGet[round] = (System.nanoTime() - g1) / 1e6;
      Thread.sleep(100); // the report answered; the agent is back on its long poll
    }
    return new Latency(rounds, start, submit, claim, agent, basicGet, tokenGet);
  }

  // ---------------------------------------------------------------- agent profile

  record Profile(int items, String phases, String stacks) {}

  /** One more job on the running agent, sampled with jcmd Thread.print; phases from its log. */
  static Profile profile(ServerProcess server, Http poller, AgentProcess agent, int items, int samples)
      throws Exception {
    Map<Long, Long> logSizes = logSizes(List.of(agent));
    long id = submit(server.admin(), "profile", "cat", items);
    Map<String, Map<String, Integer>> byRole = new TreeMap<>();
    int taken = 0;
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Long serverPid = ProcessHandle.current().children()
        .filter(h -> h.info().arguments().map(a -> String.join(" ", a).contains("nightshift-server.jar")).orElse(false))
        .map(ProcessHandle::pid).findFirst().orElse(null);
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
        .until(() -> !Jobs.state(poller, id).equals("QUEUED"));
    while (taken < samples && !Jobs.finished(poller, id)) {
      String dump = threadDump(jcmd, agent.process.pid());
      String serverDump = serverPid == null ? "" : threadDump(jcmd, serverPid);
      if (Jobs.finished(poller, id)) {
        break; // the dumps may show the agent idle after the job
      }
      classify(dump, byRole);
      classifyServer(serverDump, byRole);
      taken++;
    }
    awaitFinished(poller, id, Duration.ofMinutes(10));
    StringBuilder stacks = new StringBuilder(String.format(
        "jcmd Thread.print samples during the job: %d (threads per state, summed over the samples)%n", taken));
    byRole.forEach((role, states) -> {
      stacks.append("  ").append(role).append(":\n");
      states.entrySet().stream()
          .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
          .forEach(e -> stacks.append(String.format("    %4d  %s%n", e.getValue(), e.getKey())));
    });
    return new Profile(items, phases(List.of(agent), logSizes, id), stacks.toString());
  }

  private static final Pattern THREAD = Pattern.compile("^\"([^\"]+)\"");

  static String threadDump(Path jcmd, long pid) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(jcmd.toString(), String.valueOf(pid), "Thread.print").redirectErrorStream(true).start();
    String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return dump;
  }

  /** What the server's request threads and claim dispatcher do: the innermost Nightshift frame, and JDBC waits. */
  static void classifyServer(String dump, Map<String, Map<String, Integer>> byRole) {
    for (String block : dump.split("\\R\\R")) {
      Matcher m = THREAD.matcher(block.strip());
      if (!m.find()) {
        continue;
      }
      String name = m.group(1);
      String role;
      if (name.contains("-exec-")) {
        role = "server: request threads";
      } else if (name.equals("claim-dispatcher")) {
        role = "server: claim dispatcher";
      } else {
        continue;
      }
      String activity;
      String top = block.lines().map(String::strip).filter(l -> l.startsWith("at ")).findFirst().orElse("");
      if (block.contains("BCrypt")) {
        activity = "BCrypt (Basic auth password check)";
      } else if (block.contains("HikariPool.getConnection")) {
        activity = "waiting for a pool connection (Hikari)";
      } else if (role.endsWith("dispatcher") && top.contains("Object.wait")) {
        activity = "idle (waiting for work to be announced)";
      } else {
        String frame = block.lines().map(String::strip)
            .filter(l -> l.startsWith("at dev.nightshift.") && !l.contains("$$") && !l.contains("Filter.doFilter"))
            .findFirst().orElse(null);
        if (frame == null) {
          activity = block.contains("getTask") || block.contains("TaskQueue.take") || block.contains("Object.wait")
              ? "idle" : block.lines().skip(2).findFirst().map(String::strip).orElse("?");
        } else {
          activity = frame.replaceAll("^at dev\\.nightshift\\.server\\.", "").replaceAll("\\(.*", "");
          if (block.contains("org.mariadb.jdbc") && (block.contains("socketRead") || block.contains("SocketInputStream")
              || block.contains("NioSocketImpl.read") || block.contains("ReadAheadBufferedStream"))) {
            activity += " (waiting for MariaDB)";
          }
        }
      }
      byRole.computeIfAbsent(role, k -> new TreeMap<>()).merge(activity, 1, Integer::sum);
    }
  }

  /** Counts what each agent thread of interest is doing in one thread dump. */
  static void classify(String dump, Map<String, Map<String, Integer>> byRole) {
    for (String block : dump.split("\\R\\R")) {
      Matcher m = THREAD.matcher(block.strip());
      if (!m.find()) {
        continue;
      }
      String name = m.group(1);
      String role;
      if (name.startsWith("nightshift-slot")) {
        role = "slot threads (run, spool, report)";
      } else if (name.equals("main")) {
        role = "loop thread (claim, start)";
      } else if (name.startsWith("nightshift-heartbeat")) {
        role = "heartbeat thread";
      } else if (name.startsWith("stdin-") || name.startsWith("stderr-")) {
        role = "per-batch stdin/stderr threads";
      } else {
        continue;
      }
      byRole.computeIfAbsent(role, k -> new TreeMap<>()).merge(activity(block), 1, Integer::sum);
    }
  }

  /** The activity a thread's stack shows, most specific first. */
  static String activity(String stack) {
    String[][] rules = {
      {"Spool.write", "spool write (temp file, fsync, rename, dir fsync)"},
      {"writeStatus", "status.json write (AtomicFiles: fsync, rename, dir fsync)"},
      {"HttpAgentClient.claim", "claim call (HTTP)"},
      {"HttpAgentClient.complete", "report call (HTTP complete)"},
      {"HttpAgentClient.fail", "report call (HTTP fail)"},
      {"HttpAgentClient.heartbeat", "heartbeat call (HTTP)"},
      {"Checkouts.acquire", "checkout acquire"},
      {"ForkLock", "process start: waiting for the ForkLock"},
      {"ReentrantReadWriteLock$WriteLock.lock", "process start: waiting for the ForkLock"},
      {"ProcessBuilder.start", "process start (ProcessBuilder.start)"},
      {"ProcessImpl.<init>", "process start (ProcessBuilder.start)"},
      {"ProcessImpl.waitFor", "waiting for the script to exit"},
      {"Thread.join", "waiting for the stderr reader"},
      {"ScriptRun.noteDescendants", "listing the process tree"},
      {"ScriptRun.size", "output size check"},
      {"Files.createFile", "run files (create .out)"},
      {"Files.deleteIfExists", "run files (delete)"},
      {"Files.readAllBytes", "reading the output file"},
      {"FileHandler", "logging (FileHandler)"},
      {"StreamHandler", "logging (StreamHandler)"},
      {"ConsoleHandler", "logging (console)"},
      {"ScriptRun.drainStderr", "reading stderr"},
      {"ScriptRun.feedStdin", "writing stdin"},
      {"checkIdle", "idle check"},
      {"AgentLoop.waitFor", "loop resting (waiting for a free slot)"},
      {"ThreadPoolExecutor.getTask", "idle pool thread"},
      {"DelayedWorkQueue.take", "idle (scheduled executor)"},
    };
    for (String[] rule : rules) {
      if (stack.contains(rule[0])) {
        return rule[1];
      }
    }
    return stack.lines().skip(2).findFirst().map(String::strip).orElse("?");
  }

  // ---------------------------------------------------------------- agent log phases

  private static final Pattern LOG_LINE =
      Pattern.compile("^(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}) \\S+\\s+\\S+: batch (\\d+) attempt \\d+:? (.*)$");
  private static final Pattern FINISHED = Pattern.compile("^finished: \\S+, exit code \\d+, (\\d+) ms.*");
  private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

  static Map<Long, Long> logSizes(List<AgentProcess> agents) throws IOException {
    Map<Long, Long> sizes = new HashMap<>();
    for (AgentProcess a : agents) {
      Path log = a.dataDir.resolve("logs/agent.log.0");
      sizes.put(a.process.pid(), Files.exists(log) ? Files.size(log) : 0L);
    }
    return sizes;
  }

  /**
   * Per-batch phases of job {@code jobId} from the agents' logs (lines "started", "finished: ..., D ms",
   * "result ... by the server"): before the script (workspace, spawn), the script as the runner saw it,
   * finished to report answered (spool write + report), and how busy the slots were.
   */
  static String phases(List<AgentProcess> agents, Map<Long, Long> fromOffsets, long jobId) throws IOException {
    List<Double> before = new ArrayList<>();
    List<Double> script = new ArrayList<>();
    List<Double> report = new ArrayList<>();
    double busyMillis = 0;
    int startGroups = 0;
    LocalDateTime first = null;
    LocalDateTime last = null;
    int slots = 0;
    for (AgentProcess a : agents) {
      slots += slotsOf(a);
      Path log = a.dataDir.resolve("logs/agent.log.0");
      byte[] bytes = Files.readAllBytes(log);
      int from = (int) Math.min(bytes.length, fromOffsets.getOrDefault(a.process.pid(), 0L));
      String text = new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
      Map<Long, LocalDateTime> started = new HashMap<>();
      LocalDateTime previousStart = null;
      Map<Long, LocalDateTime> finished = new HashMap<>();
      for (String line : text.lines().toList()) {
        Matcher m = LOG_LINE.matcher(line);
        if (!m.matches()) {
          continue;
        }
        LocalDateTime at = LocalDateTime.parse(m.group(1), LOG_TIME);
        long batch = Long.parseLong(m.group(2));
        String rest = m.group(3);
        if (rest.startsWith("(job " + jobId + ") started")) {
          started.put(batch, at);
          first = first == null || at.isBefore(first) ? at : first;
          if (previousStart == null || Duration.between(previousStart, at).toMillis() > 2) {
            startGroups++; // the loop logs a claim answer's leases back to back: a gap means another claim
          }
          previousStart = at;
        } else if (started.containsKey(batch) && rest.startsWith("finished:")) {
          Matcher f = FINISHED.matcher(rest);
          if (f.matches()) {
            finished.put(batch, at);
            double total = Duration.between(started.get(batch), at).toNanos() / 1e6;
            double ran = Double.parseDouble(f.group(1));
            script.add(ran);
            before.add(Math.max(0, total - ran));
            busyMillis += total;
          }
        } else if (finished.containsKey(batch) && (rest.startsWith("(complete): result") || rest.startsWith("result "))) {
          report.add(Duration.between(finished.get(batch), at).toNanos() / 1e6);
          last = last == null || at.isAfter(last) ? at : last;
        }
      }
    }
    if (first == null || last == null) {
      return "  (no batch lines found in the agent logs)\n";
    }
    double windowMillis = Duration.between(first, last).toNanos() / 1e6;
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("  agent log, per batch (ms, log timestamps have 1 ms resolution; %d batches):%n",
        script.size()));
    sb.append(String.format("  | %-52s | %6s | %6s | %6s | %7s |%n", "phase", "p50", "p90", "p99", "mean"));
    phaseRow(sb, "started -> script spawned (workspace, run files, spawn)", before);
    phaseRow(sb, "script spawned -> exit seen (runner's own duration)", script);
    phaseRow(sb, "finished -> report answered (spool fsync + HTTP)", report);
    sb.append(String.format("  claim answers with leases (starts logged within 2 ms of each other): ~%d, %.1f leases each%n",
        startGroups, script.size() / (double) Math.max(1, startGroups)));
    sb.append(String.format(
        "  slots busy running (started..finished) %.0f%% of %d slots x %.1f s (first start..last report)%n",
        100 * busyMillis / (slots * windowMillis), slots, windowMillis / 1000));
    return sb.toString();
  }

  /** Slots per agent process, as started by {@link #startAgents}. */
  private static final Map<Long, Integer> SLOTS_OF = new java.util.concurrent.ConcurrentHashMap<>();

  static int slotsOf(AgentProcess a) {
    return SLOTS_OF.getOrDefault(a.process.pid(), 1);
  }

  static void phaseRow(StringBuilder sb, String label, List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    sb.append(String.format("  | %-52s | %6.1f | %6.1f | %6.1f | %7.1f |%n", label, pct(v, 50), pct(v, 90),
        pct(v, 99), Arrays.stream(v).average().orElse(0)));
  }

  /** Median cost of writing a small file the way the agent's spool does (AtomicFiles.write). */
  static double durableWriteMillis(Path dir) throws IOException {
    Files.createDirectories(dir);
    byte[] bytes = "{\"complete\":{\"batchId\":1,\"output\":\"1\\n\"}}".repeat(4).getBytes(StandardCharsets.UTF_8);
    double[] ms = new double[50];
    for (int i = 0; i < ms.length; i++) {
      Path target = dir.resolve("bench-" + i + ".json");
      Path temp = dir.resolve("bench-" + i + ".json.tmp");
      long t0 = System.nanoTime();
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
      ms[i] = (System.nanoTime() - t0) / 1e6;
      Files.delete(target);
    }
    return pct(ms, 50);
  }

  // ---------------------------------------------------------------- helpers

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  static String jobBody(String name, String command, List<Integer> items) {
    Map<String, Object> job = new LinkedHashMap<>();
    job.put("name", name);
    job.put("command", command);
    job.put("batchSize", 1);
    job.put("items", items);
    return Http.JSON.writeValueAsString(job);
  }

  static long submit(Http admin, String name, String command, int items) {
    Http.Response r = admin.post("/api/v1/jobs", jobBody(name, command, IntStream.range(0, items).boxed().toList()));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().get("id").asLong();
  }

  /** Polls the job every 20 ms (API token: no password hashing per poll) until it is finished. */
  static JsonNode awaitFinished(Http poller, long id, Duration atMost) {
    return awaitFinished(poller, id, atMost, 20);
  }

  /** Polls the job every {@code everyMillis} with the API token until it is finished. */
  static JsonNode awaitFinished(Http poller, long id, Duration atMost, long everyMillis) {
    long deadline = System.nanoTime() + atMost.toNanos();
    while (true) {
      JsonNode job = poller.get("/api/v1/jobs/" + id).json();
      String state = job.get("state").asString();
      if (state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("CANCELLED")) {
        return job;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("job " + id + " not finished within " + atMost + ": " + job);
      }
      try {
        Thread.sleep(everyMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  static final class Jobs {
    static String state(Http poller, long id) {
      return poller.get("/api/v1/jobs/" + id).json().get("state").asString();
    }

    static boolean finished(Http poller, long id) {
      String s = state(poller, id);
      return s.equals("SUCCEEDED") || s.equals("FAILED") || s.equals("CANCELLED");
    }
  }

  static String apiToken(ServerProcess server) {
    Http.Response r = server.admin().post("/api/v1/api-tokens", Map.of("name", "process benchmark poller"));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().get("token").asString();
  }

  static long online(ServerProcess server) {
    long n = 0;
    for (JsonNode w : server.admin().get("/api/v1/workers").json().get("items")) {
      if (!w.get("state").asString().equals("OFFLINE")) {
        n++;
      }
    }
    return n;
  }

  static double pct(double[] values, double p) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }

  static void row(StringBuilder sb, String label, double seconds, double perSecond, double reference, int attempts) {
    sb.append(String.format(Locale.ROOT, "| %-34s | %9.2f | %9.1f | %7.2fx | %8d |%n", label, seconds, perSecond,
        perSecond / reference, attempts));
  }

  static void pctRow(StringBuilder sb, String label, double[] v) {
    sb.append(String.format(Locale.ROOT, "| %-44s | %8.1f | %8.1f | %8.1f | %8.1f |%n", label, pct(v, 50), pct(v, 90),
        pct(v, 99), pct(v, 100)));
  }
}
