package dev.nightshift.server.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.benchmarks.LoadStats.ProcessUsage;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.ServerProcess;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of idle agents on one server: each enrolled, sending a heartbeat every 30 s and keeping one claim
 * parked (30 s long poll, re-issued when answered). Not part of the build; run with
 *
 * <pre>
 * ./mvnw -B -ntp -pl control-server -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=ScaleBenchmark -DNIGHTSHIFT_TEST_JDBC_URL=jdbc:mariadb://127.0.0.1:3306/ \
 *     -Dbenchmark.agents=5000 -Dbenchmark.seconds=120
 * </pre>
 *
 * Phases: enrollment (bounded concurrency, {@code benchmark.enrollConcurrency}, default 32); a start storm (every
 * agent's first heartbeat and claim at the same instant: what a fleet does when it comes back after a server
 * restart or a network cut, since agents keep their identity and do not enroll again); a steady state of
 * {@code benchmark.seconds} (default 120); a promotion, which answers every parked claim at once, and the
 * re-claims that follow. The server runs with {@code -Xmx512m} ({@code benchmark.serverXmx}) and
 * {@code SERVER_TOMCAT_MAX_CONNECTIONS=10000}. Asserts no errors, never timings.
 */
class ScaleBenchmark {
  static {
    LoadAgent.configureHttpClient();
  }

  private static final long HEARTBEAT_MILLIS = 30_000;
  private static final long WAIT_MILLIS = 30_000;

  @TempDir Path dir;

  @Test
  void idleAgentsAtScale() throws Exception {
    int count = Integer.getInteger("benchmark.agents", 5000);
    int seconds = Integer.getInteger("benchmark.seconds", 120);
    int enrollConcurrency = Integer.getInteger("benchmark.enrollConcurrency", 32);
    String xmx = System.getProperty("benchmark.serverXmx", "512m");
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "%nSCALE BENCHMARK  (%,d simulated agents, heartbeat every %d s, one claim parked each (wait %d s); "
                + "server -Xmx%s, max-connections 10000)%n",
            count, HEARTBEAT_MILLIS / 1000, WAIT_MILLIS / 1000, xmx));
    ExecutorService executor = Executors.newFixedThreadPool(8);
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    AtomicBoolean stop = new AtomicBoolean();
    List<LoadAgent> agents = new ArrayList<>(count);
    List<CompletableFuture<Void>> parks = new ArrayList<>(count);
    LoadStats enrollStats = new LoadStats();
    LoadStats stormStats = new LoadStats();
    LoadStats steadyStats = new LoadStats();
    LoadStats promotionStats = new LoadStats();
    try (ServerProcess server =
            ServerProcess.start(
                dir.resolve("server"),
                Map.of("SERVER_TOMCAT_MAX_CONNECTIONS", "10000"),
                serverArgs(xmx));
        CodeFixture code = CodeFixture.open(server.port)) {
      code.commit("1.0.0", Map.of("README", "scale\n"));
      code.push("main");
      code.promote("main");
      // One JDK client has one selector thread for all its connections: with thousands of agents that thread, not
      // the server, would set the latencies. A client per 250 agents, as separate desktops would be.
      HttpClient[] clients = new HttpClient[Math.max(1, count / 250)];
      for (int i = 0; i < clients.length; i++) {
        clients[i] = LoadAgent.client(executor);
      }
      ProcessUsage atStart = ProcessUsage.of(server.pid());

      // 1. Enrollment, at most enrollConcurrency at a time.
      Semaphore permits = new Semaphore(enrollConcurrency);
      List<CompletableFuture<LoadAgent>> enrolling = new ArrayList<>(count);
      long t0 = System.nanoTime();
      for (int i = 0; i < count; i++) {
        permits.acquire();
        enrolling.add(
            LoadAgent.enroll(clients[i % clients.length], server.url(), "scale-" + i, 1, enrollStats)
                .whenComplete((a, e) -> permits.release()));
      }
      for (CompletableFuture<LoadAgent> e : enrolling) {
        agents.add(e.get(120, TimeUnit.SECONDS));
      }
      double enrollSeconds = (System.nanoTime() - t0) / 1e9;
      ProcessUsage afterEnroll = ProcessUsage.of(server.pid());
      out.append(
          String.format(
              "%n  1. enrollment, %d at a time: %,d agents in %.1f s (%.0f/s); server CPU %.1f s%n",
              enrollConcurrency, count, enrollSeconds, count / enrollSeconds, afterEnroll.cpuSince(atStart)));
      out.append(enrollStats.latencyTable("    "));

      // 2. Start storm: every agent's first heartbeat and its first claim, all at once.
      java.nio.file.Files.deleteIfExists(Path.of("target", "ScaleBenchmark-progress.txt"));
      progress("start storm");
      agents.forEach(a -> a.statsTo(stormStats));
      t0 = System.nanoTime();
      List<CompletableFuture<Void>> first = new ArrayList<>(count);
      for (LoadAgent a : agents) {
        first.add(a.heartbeat(WorkerState.IDLE));
        parks.add(a.park(WAIT_MILLIS, stop::get));
      }
      CompletableFuture.allOf(first.toArray(CompletableFuture[]::new)).get(300, TimeUnit.SECONDS);
      double stormSeconds = (System.nanoTime() - t0) / 1e9;
      Thread.sleep(3000); // the claims park
      ProcessUsage afterStorm = ProcessUsage.of(server.pid());
      out.append(
          String.format(
              "%n  2. start storm: %,d first heartbeats + %,d claims at once; all heartbeats answered in %.1f s; "
                  + "errors %d; server CPU %.1f s%n",
              count, count, stormSeconds, stormStats.errors.get(), afterStorm.cpuSince(afterEnroll)));
      out.append(stormStats.latencyTable("    "));

      // 3. Steady state: heartbeats every 30 s from a random offset, claims re-parked when answered.
      agents.forEach(a -> a.statsTo(steadyStats));
      for (LoadAgent a : agents) {
        timer.scheduleAtFixedRate(
            () -> a.heartbeat(WorkerState.IDLE),
            ThreadLocalRandom.current().nextLong(HEARTBEAT_MILLIS),
            HEARTBEAT_MILLIS,
            TimeUnit.MILLISECONDS);
      }
      progress("steady state for " + seconds + " s");
      ProcessUsage steadyStart = ProcessUsage.of(server.pid());
      ProcessUsage clientStart = ProcessUsage.of(ProcessHandle.current().pid());
      GcPauses clientPauses = GcPauses.watch();
      Thread.sleep(seconds * 1000L);
      ProcessUsage steadyEnd = ProcessUsage.of(server.pid());
      double steadyCpu = steadyEnd.cpuSince(steadyStart);
      double clientCpu = ProcessUsage.of(ProcessHandle.current().pid()).cpuSince(clientStart);
      out.append(
          String.format(
              "%n  3. steady state, %d s: %,d requests (%s); errors %d%n"
                  + "     server CPU %.1f s (%.1f%% of one core), %s; load generator CPU %.1f s (%.1f%% of one core)%n",
              seconds, steadyStats.requests(), steadyStats.requestCounts(), steadyStats.errors.get(), steadyCpu,
              100 * steadyCpu / seconds, steadyEnd, clientCpu, 100 * clientCpu / seconds));
      out.append(String.format("     load generator's own GC meanwhile: %s%n", clientPauses));
      out.append(steadyStats.latencyTable("    "));

      // 4. A promotion answers every parked claim at once; every agent claims again.
      progress("promotion");
      agents.forEach(a -> a.statsTo(promotionStats));
      String commit = code.commit("1.0.1", Map.of("README", "scale 2\n"));
      code.push("main");
      Set<String> heard = ConcurrentHashMap.newKeySet();
      AtomicLong lastHeard = new AtomicLong();
      for (LoadAgent a : agents) {
        a.onClaimAnswer =
            r -> {
              if (r.release() != null && r.release().commit().equals(commit) && heard.add(a.name)) {
                lastHeard.set(System.nanoTime());
              }
            };
      }
      t0 = System.nanoTime();
      code.promote("main");
      long promoted = System.nanoTime();
      long deadline = t0 + TimeUnit.SECONDS.toNanos(120);
      while (heard.size() < count && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      double fanOut = (lastHeard.get() - t0) / 1e9;
      Thread.sleep(3000); // the re-claims park
      ProcessUsage afterPromotion = ProcessUsage.of(server.pid());
      out.append(
          String.format(
              "%n  4. promotion: request %.0f ms; %,d of %,d parked claims answered with the new release, the last "
                  + "%.2f s after the request; errors %d; server CPU %.1f s%n",
              (promoted - t0) / 1e6, heard.size(), count, fanOut, promotionStats.errors.get(),
              afterPromotion.cpuSince(steadyEnd)));
      out.append(promotionStats.latencyTable("    "));

      // Stop: the timer ends, each agent says OFFLINE (its parked claim is answered at once).
      stop.set(true);
      timer.shutdownNow();
      LoadStats stopStats = new LoadStats();
      agents.forEach(a -> a.statsTo(stopStats));
      Semaphore offline = new Semaphore(256);
      List<CompletableFuture<Void>> bye = new ArrayList<>(count);
      for (LoadAgent a : agents) {
        offline.acquire();
        bye.add(a.heartbeat(WorkerState.OFFLINE).whenComplete((v, e) -> offline.release()));
      }
      CompletableFuture.allOf(bye.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      CompletableFuture.allOf(parks.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      ProcessUsage end = ProcessUsage.of(server.pid());
      out.append(
          String.format(
              "%n  server over the whole run: %s; client JVM max heap %d MB; requests re-sent once because the"
                  + " server had closed their kept-alive connection: %d; calls answered 503 with Retry-After and"
                  + " made again after it: %d%n%n",
              end, Runtime.getRuntime().maxMemory() >> 20, LoadAgent.STALE_CONNECTION_RETRIES.get(),
              LoadAgent.RETRIED_AFTER_503.get()));
      System.out.print(out);

      assertThat(enrollStats.errors.get()).as("enrollment errors:\n    " + enrollStats.errorSamples()).isZero();
      assertThat(stormStats.errors.get()).as("storm errors:\n    " + stormStats.errorSamples()).isZero();
      assertThat(steadyStats.errors.get()).as("steady errors:\n    " + steadyStats.errorSamples()).isZero();
      assertThat(promotionStats.errors.get()).as("promotion errors:\n    " + promotionStats.errorSamples()).isZero();
      assertThat(stopStats.errors.get()).as("stop errors:\n    " + stopStats.errorSamples()).isZero();
      assertThat(heard).as("agents told of the promotion").hasSize(count);
    } finally {
      stop.set(true);
      timer.shutdownNow();
      executor.shutdownNow();
      keepServerLog(dir, "ScaleBenchmark");
    }
  }

  /**
   * A line in target/ScaleBenchmark-progress.txt when a phase starts (the results come at the end), for whoever
   * watches the server meanwhile (a heap histogram in the steady state, say).
   */
  private static void progress(String phase) {
    try {
      java.nio.file.Files.writeString(
          Path.of("target", "ScaleBenchmark-progress.txt"),
          String.format("%s %s%n", java.time.LocalTime.now().withNano(0), phase),
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (java.io.IOException e) {
      System.err.println("progress not written: " + e);
    }
  }

  /** Keeps the server's log in target/ (the temporary directory goes away with the test). */
  static void keepServerLog(Path dir, String name) {
    try {
      java.nio.file.Files.copy(
          dir.resolve("server/server.log"),
          Path.of("target", name + "-server.log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (java.io.IOException e) {
      System.err.println("server log not kept: " + e);
    }
  }

  /** The heap and connection limit, plus -Dbenchmark.serverJvmArgs (space-separated, e.g. a JFR recording). */
  static List<String> serverArgs(String xmx) {
    List<String> args = new ArrayList<>(List.of("-Xmx" + xmx, "-Dserver.tomcat.max-connections=10000"));
    String extra = System.getProperty("benchmark.serverJvmArgs", "").trim();
    if (!extra.isEmpty()) {
      args.addAll(List.of(extra.split("\\s+")));
    }
    return args;
  }
}
