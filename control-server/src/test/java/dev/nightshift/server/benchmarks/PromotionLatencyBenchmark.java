package dev.nightshift.server.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time from a promotion until N idle agent processes (default 10) have the new commit checked out. Not part of the
 * build; run with {@code ./mvnw -pl control-server -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.test=PromotionLatencyBenchmark -Dbenchmark.agents=10}. Each agent's checkout directory appearing is the
 * signal (polled every 20 ms); the heartbeat interval is the default 30 s, so the figure shows what claim answers
 * carrying the release buy.
 */
class PromotionLatencyBenchmark {
  @TempDir Path dir;

  @Test
  void promotionToCheckoutOnEveryAgent() throws Exception {
    int agents = Integer.getInteger("benchmark.agents", 10);
    int rounds = Integer.getInteger("benchmark.rounds", 3);
    try (ServerProcess server = ServerProcess.start(dir.resolve("server"), Map.of(), List.of("-Xmx384m"));
        CodeFixture code = CodeFixture.open(server.port)) {
      code.commit("1.0.0", Map.of("process.sh", "#!/bin/sh\ncat\n"));
      code.push("main");
      code.promote("main");
      List<AgentProcess> running = new ArrayList<>();
      try {
        for (int i = 0; i < agents; i++) {
          running.add(
              AgentProcess.start("run", server.url(), dir.resolve("agent-" + i), "agent-" + i + ".log",
                  "--name", "bench-" + i));
        }
        // All enrolled and waiting on a claim (the first release was prefetched at enrollment).
        await().atMost(Duration.ofSeconds(120)).until(() -> online(server) == agents);
        long[] millis = new long[rounds];
        for (int round = 0; round < rounds; round++) {
          String commit = code.commit("1.0." + (round + 1), Map.of("note.txt", "round " + round + "\n"));
          code.push("main");
          long start = System.nanoTime();
          code.promote("main");
          await()
              .atMost(Duration.ofSeconds(120))
              .pollInterval(Duration.ofMillis(20))
              .until(() -> running.stream().allMatch(a -> Files.isDirectory(a.dataDir.resolve("code/checkouts/" + commit))));
          millis[round] = (System.nanoTime() - start) / 1_000_000;
        }
        long[] sorted = millis.clone();
        Arrays.sort(sorted);
        System.out.printf(
            "%nPROMOTION TO CHECKOUT ON %d AGENTS (heartbeat interval 30 s)%n  rounds (ms): %s%n  median: %d ms%n%n",
            agents, Arrays.toString(millis), sorted[rounds / 2]);
        assertThat(sorted[rounds / 2]).isLessThan(30_000);
      } finally {
        running.forEach(AgentProcess::close);
      }
    }
  }

  static long online(ServerProcess server) {
    long n = 0;
    for (var w : server.admin().get("/api/v1/workers").json().get("items")) {
      if (!w.get("state").asString().equals("OFFLINE")) {
        n++;
      }
    }
    return n;
  }
}
