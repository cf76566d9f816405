package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.FaultProxy;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MariaDbProcess;
import dev.nightshift.server.testing.ServerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Chaos with real processes: agents behind a {@link FaultProxy} (resets, lost answers, truncated bodies,
 * blackholes), agents SIGKILLed and restarted on their data dirs, the server SIGKILLed and restarted, and the
 * database (its own {@code mariadbd}; without one, the run says so and skips only this kind) SIGKILLed and restarted,
 * all while a job runs. Asserts: each item exactly once; no spooled result discarded except for a machine-readable
 * STALE answer (its lease ended while the agent was cut off, so another attempt's result stands); nothing moved aside
 * as rejected or unreadable; no batch waited for its lease to expire (restarted agents requeue what they lost at
 * once); no 500 anywhere. Bounded: {@code -Dchaos.seconds} of chaos (default 40, the CI version), then the job
 * must finish within 4 minutes. {@code -Dchaos.seed} replays a run. See docs/testing.md.
 */
class ChaosIT {
  static final int SECONDS = Integer.getInteger("chaos.seconds", 40);
  static final long SEED = Long.getLong("chaos.seed", System.nanoTime());
  static final int AGENTS = 3;

  /** Prints each item as a JSON line; a short sleep keeps batches running when chaos strikes. */
  static final String SCRIPT =
      "while IFS= read -r line; do printf '{\"item\":%s}\\n' \"$line\"; done; sleep 0.3";

  @TempDir Path dir;
  private ServerProcess server;
  private MariaDbProcess database; // null where mariadbd is missing: then no database kills
  private FaultProxy proxy;
  private final List<AgentProcess> agents = new ArrayList<>();

  @AfterEach
  void cleanUp() {
    agents.forEach(AgentProcess::close);
    if (proxy != null) {
      proxy.close();
    }
    if (server != null) {
      server.close();
    }
    if (database != null) {
      database.close();
    }
  }

  @Test
  void everyItemExactlyOnceThroughAgentServerAndNetworkFaults() throws Exception {
    System.out.printf("chaos: seed %d (-Dchaos.seed=%d replays the same choices), %d s%n", SEED, SEED, SECONDS);
    Random random = new Random(SEED);
    Map<String, String> env = new LinkedHashMap<>();
    env.put("NIGHTSHIFT_LEASE_DURATION", "60s"); // outlives a server restart and a blackhole
    env.put("NIGHTSHIFT_LEASE_HEARTBEAT_INTERVAL", "2s");
    env.put("NIGHTSHIFT_LEASE_CLAIM_GRACE", "10s");
    env.put("NIGHTSHIFT_RETRY_INITIAL_BACKOFF", "1s");
    String noDatabaseKills = MariaDbProcess.missing();
    if (noDatabaseKills == null) {
      // Its own MariaDB, so the database too can be SIGKILLed and restarted.
      database = MariaDbProcess.install(dir.resolve("mariadb"), ServerProcess.freePort());
      database.createDatabase("chaos");
      env.put("SPRING_DATASOURCE_URL", database.serverUrl() + "chaos");
      env.put("SPRING_DATASOURCE_USERNAME", "root");
      env.put("SPRING_DATASOURCE_PASSWORD", "");
      server = ServerProcess.startRaw(dir.resolve("server"), env, List.of("-Xmx384m"));
    } else {
      System.out.println("chaos: no database kills in this run: " + noDatabaseKills);
      server = ServerProcess.start(dir.resolve("server"), env, List.of("-Xmx384m"));
    }
    CodeFixture.ensureRelease(server.port);
    proxy = new FaultProxy(server.port, random.nextLong());
    proxy.faultRate(0.03);

    int items = 4_000;
    Map<String, Object> job = new HashMap<>();
    job.put("name", "chaos");
    job.put("command", SCRIPT);
    job.put("batchSize", 10);
    job.put("items", IntStream.range(0, items).boxed().toList());
    job.put("maxAttempts", 10);
    long jobId = Jobs.submit(server.admin(), job);

    for (int i = 0; i < AGENTS; i++) {
      agents.add(startAgent(i, 0));
    }
    // Chaos starts once every agent is enrolled and work flows (else it would strike an empty grid).
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> IntStream.range(0, AGENTS).allMatch(i -> server.workerNamed("chaos-" + i) != null)
            && Jobs.get(server.admin(), jobId).get("counts").get("succeeded").asInt() > 0);
    Map<String, Integer> events = new TreeMap<>();
    int[] restarts = new int[AGENTS];
    long end = System.nanoTime() + SECONDS * 1_000_000_000L;
    while (System.nanoTime() < end && !succeeded(jobId)) {
      Thread.sleep(1_000 + random.nextInt(2_500));
      int pick = random.nextInt(100);
      if (pick < 35) {
        int i = random.nextInt(AGENTS);
        agents.get(i).kill();
        agents.set(i, startAgent(i, ++restarts[i]));
        events.merge("agent SIGKILL + restart", 1, Integer::sum);
      } else if (pick < 45 && database != null) {
        database.kill();
        Thread.sleep(5_000);
        database.start();
        events.merge("database SIGKILL, 5 s down, restart", 1, Integer::sum);
      } else if (pick < 58) {
        server.kill();
        server = server.restart();
        proxy.upstream(server.port);
        events.merge("server SIGKILL + restart", 1, Integer::sum);
      } else if (pick < 75) {
        proxy.blackhole();
        Thread.sleep(3_000);
        proxy.liftBlackhole();
        events.merge("network blackhole 3 s", 1, Integer::sum);
      } else {
        double rate = random.nextBoolean() ? 0.15 : 0.03;
        proxy.faultRate(rate);
        events.merge("connection fault rate " + rate, 1, Integer::sum);
      }
    }
    proxy.faultRate(0);
    proxy.liftBlackhole();
    System.out.println("chaos: events " + events + ", proxy connections " + proxy.counts());

    await()
        .atMost(Duration.ofMinutes(4))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> succeeded(jobId));

    // Each item exactly once.
    Http admin = server.admin();
    Map<Integer, Long> seen =
        admin.get("/api/v1/jobs/" + jobId + "/results").body().lines()
            .map(line -> Http.JSON.readTree(line).get("item").asInt())
            .collect(Collectors.groupingBy(i -> i, Collectors.counting()));
    assertThat(seen).hasSize(items);
    assertThat(seen.values()).allMatch(count -> count == 1);

    // No batch waited for its lease to expire; count what was rerun and why.
    Map<String, Integer> firstEndings = new TreeMap<>();
    List<String> expiredByReaper = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    for (JsonNode b : admin.get("/api/v1/jobs/" + jobId + "/batches?limit=1000").json().get("items")) {
      if (b.get("attempts").asInt() <= 1) {
        continue;
      }
      for (JsonNode a : admin.get("/api/v1/batches/" + b.get("id").asLong()).json().get("attemptHistory")) {
        String outcome = a.get("outcome").asString();
        if (outcome.equals("SUCCEEDED")) {
          continue;
        }
        String error = a.path("error").asString("");
        firstEndings.merge(outcome + ": " + error.replaceAll("[0-9a-f-]{36}|\\d[\\d:.TZ-]+", "#"), 1, Integer::sum);
        if (outcome.equals("FAILED")) {
          failed.add("batch " + b.get("id") + ": " + error); // the script never fails: only an outage could
        }
        if (error.contains("lease expired")) {
          expiredByReaper.add("batch " + b.get("id") + ": " + error);
        }
      }
    }
    System.out.println("chaos: attempts that did not succeed " + firstEndings);

    // What the agents did with their spooled results.
    Map<String, Integer> dropped = new TreeMap<>();
    List<String> agentServerErrors = new ArrayList<>();
    Pattern drop = Pattern.compile("result dropped: ([A-Z_]+)");
    for (int i = 0; i < AGENTS; i++) {
      for (int r = 0; r <= restarts[i]; r++) {
        String log = Files.readString(agentLog(i, r));
        Matcher m = drop.matcher(log);
        while (m.find()) {
          dropped.merge(m.group(1), 1, Integer::sum);
        }
        log.lines().filter(l -> l.contains("HTTP 500")).forEach(agentServerErrors::add);
      }
    }
    List<String> asideFiles = new ArrayList<>();
    for (int i = 0; i < AGENTS; i++) {
      Path spool = dir.resolve("agent-" + i).resolve("spool");
      if (Files.isDirectory(spool)) {
        try (Stream<Path> files = Files.list(spool)) {
          files.map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".rejected") || n.endsWith(".bad"))
              .forEach(asideFiles::add);
        }
      }
    }
    System.out.println("chaos: spooled results dropped by reason " + dropped);

    assertThat(dropped.keySet()).as("only a STALE answer may end a spooled result").isSubsetOf("STALE");
    assertThat(asideFiles).as("results moved aside").isEmpty();
    assertThat(expiredByReaper).as("batches that waited for their lease to expire").isEmpty();
    assertThat(failed).as("attempts used up by outages (e.g. a code fetch while the server restarted)").isEmpty();
    assertThat(agentServerErrors).as("500s seen by agents").isEmpty();
    assertThat(server.logText()).as("500s in the server log").doesNotContain("unexpected error serving");
  }

  private boolean succeeded(long jobId) {
    try {
      return Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED");
    } catch (RuntimeException | AssertionError e) {
      return false; // the server is restarting or its database is down (503)
    }
  }

  private AgentProcess startAgent(int i, int run) throws IOException {
    return AgentProcess.start(
        "run", proxy.url(), dir.resolve("agent-" + i), agentLog(i, run).getFileName().toString(),
        "--slots", "2", "--name", "chaos-" + i);
  }

  private Path agentLog(int i, int run) {
    return dir.resolve("agent-" + i + "-run-" + run + ".log");
  }
}
