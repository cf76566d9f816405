package dev.nightshift.agent.loop;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.protocol.HostFacts;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local micro-run, not a test: {@code once} over an in-memory server with N {@code cat} batches, against a bare
 * loop spawning the same processes. Run with {@code -Dtest=LoopThroughputBench -Dbench=true [-Dbench.n=400]}.
 */
@EnabledIfSystemProperty(named = "bench", matches = "true")
class LoopThroughputBench {
  @TempDir Path data;

  @Test
  void onceAgainstBareSpawns() throws Exception {
    int n = Integer.getInteger("bench.n", 300);
    int slots = Integer.getInteger("bench.slots", 2);
    List<String> shell = RunnerConfig.platformShell(System.getProperty("os.name"));
    for (int round = 0; round < 2; round++) {
      double bare = bare(n, slots, shell);
      double agent = agent(n, slots, shell, data.resolve("r" + round));
      System.out.printf("BENCH n=%d slots=%d shell=%s: bare %.0f/s, agent %.0f/s, ratio %.2f%n",
          n, slots, shell, bare, agent, agent / bare);
    }
  }

  private static double bare(int n, int slots, List<String> shell) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(slots);
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      pool.execute(() -> {
        try {
          List<String> cmd = new java.util.ArrayList<>(shell);
          cmd.add("cat");
          Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
          p.getOutputStream().write("1\n2\n".getBytes());
          p.getOutputStream().close();
          p.getInputStream().readAllBytes();
          p.waitFor();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(5, TimeUnit.MINUTES);
    return n / ((System.nanoTime() - t0) / 1e9);
  }

  private static double agent(int n, int slots, List<String> shell, Path data) {
    FakeAgentServer server = new FakeAgentServer();
    for (long b = 1; b <= n; b++) {
      server.add(Leases.items(b, "cat", 30, "1", "2"));
    }
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = new Identity("worker-0", "agent-token-0", "http://fake");
    store.save(id);
    Enrollment enrollment = new Enrollment(store, id, "http://fake", null, "pc", slots, Map.of(),
        () -> new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17"));
    Clock clock = Clock.systemUTC();
    RunnerConfig rc = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096, shell,
        Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
    ScriptRunner runner = new ScriptRunner(rc, new WorkDirWorkspace(data.resolve("work")), clock);
    LoopConfig config = new LoopConfig(slots, Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofSeconds(1),
        Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofSeconds(5), 5);
    AgentLoop loop = new AgentLoop(
        new AgentLoop.Parts(server, enrollment, runner, new Spool(data.resolve("spool")), () -> IdleVerdict.run("bench")),
        config, clock, new SecureRandom());
    if (!Boolean.getBoolean("bench.nostatus")) {
      loop.writeStatusTo(data.resolve("status.json"));
    }
    loop.restore();
    long t0 = System.nanoTime();
    int code = loop.runOnce();
    double rate = n / ((System.nanoTime() - t0) / 1e9);
    loop.shutdown();
    if (code != 0 || server.completes().size() != n) {
      throw new AssertionError("exit " + code + ", " + server.completes().size() + " completes of " + n);
    }
    System.out.printf("BENCH agent: %d claims, %d report calls%n", server.claims().size(), server.reportAttempts());
    return rate;
  }
}
