package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.DashboardSession;
import dev.nightshift.server.testing.GitCli;
import dev.nightshift.server.testing.HaProxy;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import dev.nightshift.server.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Three server instances on one MariaDB database behind a real HAProxy (docs/scale-out.md), used by real agents and
 * the admin API through the load balancer: code pushed to one instance is served by the others, a submission on one
 * instance wakes a claim parked on another (latency measured), an instance killed with SIGKILL mid-run loses and
 * duplicates nothing and rejoins on its port, and a dashboard login made through one instance is valid on all.
 */
class ScaleOutIT {
  @TempDir Path dir;

  @Test
  void threeInstancesBehindHaProxy() throws Exception {
    Assumptions.assumeTrue(
        HaProxy.available(), "HAProxy is not installed (" + HaProxy.BINARY + "): apt-get install haproxy");
    long started = System.nanoTime();
    String[] db = TestDatabase.fresh();
    Map<String, String> env = new LinkedHashMap<>(ServerProcess.fastLeases());
    env.put("SPRING_DATASOURCE_URL", db[0]);
    env.put("SPRING_DATASOURCE_USERNAME", db[1]);
    env.put("SPRING_DATASOURCE_PASSWORD", db[2]);
    List<String> jvm = List.of("-Xmx320m", "-XX:TieredStopAtLevel=1");
    List<ServerProcess> servers = Collections.synchronizedList(new ArrayList<>());
    List<AgentProcess> agents = new ArrayList<>();
    HaProxy proxy = null;
    try {
      servers.add(ServerProcess.startRaw(dir.resolve("s1"), env, jvm)); // migrates the database
      CompletableFuture<ServerProcess> s2 = CompletableFuture.supplyAsync(() -> start(dir.resolve("s2"), env, jvm));
      CompletableFuture<ServerProcess> s3 = CompletableFuture.supplyAsync(() -> start(dir.resolve("s3"), env, jvm));
      servers.add(s2.join());
      servers.add(s3.join());
      proxy = HaProxy.start(dir.resolve("haproxy"), servers.stream().map(s -> s.port).toList());
      System.out.printf("ScaleOutIT: 3 instances and HAProxy up in %d s%n", seconds(started));
      Http lb = Http.admin(proxy.port);

      // 1. Code pushed to instance 1, promoted on instance 2, served by every instance.
      GitCli git = new GitCli(dir.resolve("home"));
      Path repo = Files.createDirectories(dir.resolve("repo"));
      git.ok(repo, "init", "-q");
      String v1 = CodeEndToEndIT.commit(git, repo, "1.0.0");
      git.ok(repo, "push", "-q", gitUrl(servers.get(0).port), "HEAD:main");
      CodeEndToEndIT.promote(servers.get(1).admin(), Map.of("ref", "main"));
      for (ServerProcess s : servers) {
        String refs = git.ok(repo, "ls-remote", gitUrl(s.port));
        assertThat(refs).as("instance on " + s.port).contains(v1 + "\trefs/heads/main", v1 + "\trefs/heads/worker");
      }
      Path clone = dir.resolve("clone");
      git.ok(dir, "clone", "-q", gitUrl(servers.get(2).port), clone.toString());
      assertThat(Files.readString(clone.resolve("VERSION"))).isEqualTo("1.0.0\n");

      // 2. Wake-ups across instances: a claim parked on instance 2, a submission on instance 1.
      wakeLatency(servers.get(0), servers.get(1));

      // 3. Real agents: two through the load balancer, one talking to instance 3 only. v2 is pushed through the
      // load balancer (its requests land on different instances) and promoted there.
      agents.add(agent(proxy.url(), "lb-a"));
      agents.add(agent(proxy.url(), "lb-b"));
      agents.add(agent(servers.get(2).url(), "direct-3", "--label", "via=instance-3"));
      long first = CodeEndToEndIT.run(lb, CodeEndToEndIT.job("v1", 24, null));
      assertThat(CodeEndToEndIT.versionsOf(lb, first)).containsExactly("1.0.0");
      long onThree = CodeEndToEndIT.run(lb, onInstance3("v1 on instance 3"));
      assertThat(CodeEndToEndIT.versionsOf(lb, onThree)).as("leased and fetched through instance 3")
          .containsExactly("1.0.0");
      assertThat(CodeEndToEndIT.workersOf(lb, onThree)).hasSize(1);
      String v2 = CodeEndToEndIT.commit(git, repo, "2.0.0");
      git.ok(repo, "push", "-q", gitUrl(proxy.port), "HEAD:main");
      CodeEndToEndIT.promote(lb, Map.of("ref", "main"));
      long second = CodeEndToEndIT.run(lb, CodeEndToEndIT.job("v2", 48, null));
      assertThat(CodeEndToEndIT.versionsOf(lb, second)).as("no batch by stale code").containsExactly("2.0.0");
      long onThreeAgain = CodeEndToEndIT.run(lb, onInstance3("v2 on instance 3"));
      assertThat(CodeEndToEndIT.versionsOf(lb, onThreeAgain)).containsExactly("2.0.0");
      assertThat(CodeEndToEndIT.workersOf(lb, onThreeAgain)).isEqualTo(CodeEndToEndIT.workersOf(lb, onThree));
      assertThat(v2).isNotEqualTo(v1);

      // 4. SIGKILL instance 2 mid-run; restart it on its port; every batch accepted exactly once.
      int items = 240;
      long chaos = Jobs.submit(lb, CodeEndToEndIT.job("through a kill", items, null));
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
          .until(() -> Jobs.get(lb, chaos).get("counts").get("succeeded").asLong() >= 20);
      ServerProcess victim = servers.get(1);
      long killedAt = System.nanoTime();
      victim.kill();
      System.out.printf("ScaleOutIT: killed instance 2 (port %d) at %d batches done%n", victim.port,
          Jobs.get(lb, chaos).get("counts").get("succeeded").asLong());
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
          .until(() -> Jobs.get(lb, chaos).get("counts").get("succeeded").asLong() >= 60);
      ServerProcess back = victim.restartOnSamePort();
      servers.set(1, back);
      System.out.printf("ScaleOutIT: instance 2 back on port %d after %d s%n", back.port, seconds(killedAt));
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(300))
          .until(() -> CodeEndToEndIT.state(lb, chaos).equals("SUCCEEDED"));
      assertExactlyOnce(db, lb, chaos, items);
      // the restarted instance serves the code, the jobs and new work
      assertThat(git.ok(repo, "ls-remote", gitUrl(back.port))).contains(v2 + "\trefs/heads/worker");
      assertThat(CodeEndToEndIT.state(back.admin(), chaos)).isEqualTo("SUCCEEDED");
      long after = CodeEndToEndIT.run(back.admin(), CodeEndToEndIT.job("after the restart", 12, null));
      assertThat(CodeEndToEndIT.versionsOf(lb, after)).containsExactly("2.0.0");

      // 5. A dashboard login through the load balancer (login page and form may land on different instances) is
      // valid on every instance.
      var browser = DashboardSession.login(proxy.port);
      for (ServerProcess s : servers) {
        var page = DashboardSession.get(browser, s.port, "/ui");
        assertThat(page.statusCode()).as("dashboard on " + s.port).isEqualTo(200);
        assertThat(page.body()).doesNotContain("name=\"password\"");
      }
      System.out.printf("ScaleOutIT: done in %d s%n", seconds(started));
    } finally {
      agents.forEach(AgentProcess::close);
      if (proxy != null) {
        proxy.close();
      }
      servers.forEach(ServerProcess::close);
    }
  }

  private static ServerProcess start(Path dir, Map<String, String> env, List<String> jvm) {
    try {
      return ServerProcess.startRaw(dir, env, jvm);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static long seconds(long since) {
    return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - since);
  }

  private static String gitUrl(int port) {
    return "http://admin:" + Http.ADMIN_PASSWORD + "@127.0.0.1:" + port + "/git/code.git";
  }

  private static AgentProcess agent(String server, String name, String... extra) throws Exception {
    Path data = Files.createTempDirectory("scaleout-agent-" + name);
    List<String> args = new ArrayList<>(List.of("--slots", "2", "--name", name));
    args.addAll(List.of(extra));
    return AgentProcess.start("run", server, data.resolve("data"), "agent-" + name + ".log",
        args.toArray(String[]::new));
  }

  /** A job only the agent that talks to instance 3 alone may run. */
  private static Map<String, Object> onInstance3(String name) {
    Map<String, Object> job = new HashMap<>(CodeEndToEndIT.job(name, 8, null));
    job.put("labels", Map.of("via", "instance-3"));
    return job;
  }

  /**
   * 50 samples (after 5 to warm up): a claim parked on {@code parkedOn} by a worker that alone may take the job
   * (labels), then a one-batch job submitted on {@code submitOn}; the time from the submission's answer (its
   * transaction committed) to the claim's answer with the lease.
   */
  private static void wakeLatency(ServerProcess submitOn, ServerProcess parkedOn) throws Exception {
    var waiter =
        dev.nightshift.server.testing.TestAgent.enroll(parkedOn.port, "waiter", 1, Map.of("pool", "wake"));
    Http admin = submitOn.admin();
    List<Double> samples = new ArrayList<>();
    List<Double> fromSent = new ArrayList<>();
    ExecutorService claims = Executors.newSingleThreadExecutor();
    try {
      for (int i = 0; i < 55; i++) {
        Future<long[]> claim =
            claims.submit(
                () -> {
                  List<Lease> leases = waiter.claim(1, 20_000);
                  long at = System.nanoTime();
                  assertThat(leases).hasSize(1);
                  waiter.complete(leases.get(0), "{\"ok\":true}\n");
                  return new long[] {at};
                });
        Thread.sleep(250); // parked by then
        Map<String, Object> job = new HashMap<>(CodeEndToEndIT.job("wake " + i, 1, null));
        job.put("labels", Map.of("pool", "wake"));
        long sent = System.nanoTime();
        Jobs.submit(admin, job);
        long answered = System.nanoTime();
        long got = claim.get(30, TimeUnit.SECONDS)[0];
        if (i >= 5) {
          samples.add(Math.max(0, got - answered) / 1e6);
          fromSent.add((got - sent) / 1e6);
        }
      }
    } finally {
      claims.shutdownNow();
    }
    Collections.sort(samples);
    Collections.sort(fromSent);
    System.out.printf(
        "ScaleOutIT: wake-up across instances, %d samples, from the submission's answer: p50 %.1f ms, p95 %.1f ms,"
            + " max %.1f ms; from its request: p50 %.1f ms, p95 %.1f ms, max %.1f ms%n",
        samples.size(), pct(samples, 50), pct(samples, 95), samples.get(samples.size() - 1), pct(fromSent, 50),
        pct(fromSent, 95), fromSent.get(fromSent.size() - 1));
    assertThat(pct(samples, 50)).as("median wake-up (ms)").isLessThan(250);
  }

  private static double pct(List<Double> sorted, int p) {
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
  }

  /** Every item's result once, every batch succeeded by exactly one attempt. */
  private static void assertExactlyOnce(String[] db, Http lb, long job, int items) throws Exception {
    String results = lb.get("/api/v1/jobs/" + job + "/results").body();
    List<Long> seen = new ArrayList<>();
    results.lines().forEach(line -> seen.add(Http.JSON.readTree(line).get("item").asLong()));
    assertThat(seen).as("results").hasSize(items);
    assertThat(new HashSet<>(seen)).isEqualTo(
        new HashSet<>(IntStream.range(0, items).mapToObj(i -> (long) i).toList()));
    JsonNode state = Jobs.get(lb, job);
    long batches = state.get("batchCount").asLong();
    try (Connection c = DriverManager.getConnection(db[0], db[1], db[2]);
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT COUNT(*), COUNT(DISTINCT batch_id) FROM attempt WHERE job_id = " + job
                        + " AND outcome = 'SUCCEEDED'")) {
      rs.next();
      assertThat(rs.getLong(1)).as("succeeded attempts").isEqualTo(batches);
      assertThat(rs.getLong(2)).as("batches succeeded").isEqualTo(batches);
    }
    Set<String> outcomes = new HashSet<>();
    try (Connection c = DriverManager.getConnection(db[0], db[1], db[2]);
        ResultSet rs =
            c.createStatement()
                .executeQuery("SELECT outcome, COUNT(*) FROM attempt WHERE job_id = " + job + " GROUP BY outcome")) {
      while (rs.next()) {
        outcomes.add(rs.getString(1) + "=" + rs.getLong(2));
      }
    }
    System.out.println("ScaleOutIT: attempts of the job run through the kill: " + outcomes);
  }
}
