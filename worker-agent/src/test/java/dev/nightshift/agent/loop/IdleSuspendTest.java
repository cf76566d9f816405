package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.system.Json;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.WorkerState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The owner returns mid-batch: real {@code sh} process trees are stopped (state 'T' in /proc) and continued, or
 * vacated after vacate-after on the test's clock. Idle checks are driven directly.
 */
@EnabledOnOs(OS.LINUX)
class IdleSuspendTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path data;
  private final FakeAgentServer server = new FakeAgentServer();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
  private volatile IdleVerdict verdict = IdleVerdict.run("test: idle");
  private AgentLoop loop;

  @AfterEach
  void stop() {
    if (loop != null) {
      loop.shutdown();
    }
  }

  private AgentLoop loop(Duration vacateAfter) {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = new Identity("worker-0", "agent-token-0", "http://fake");
    store.save(id);
    Enrollment enrollment = new Enrollment(store, id, "http://fake", "enroll-token", "pc", 1, Map.of(),
        () -> new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17"));
    server.authenticateWith(enrollment::token);
    RunnerConfig rc = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096,
        List.of("sh", "-c"), Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
    ScriptRunner runner = new ScriptRunner(rc, new WorkDirWorkspace(data.resolve("work")), clock);
    LoopConfig config = new LoopConfig(1, Duration.ZERO, Duration.ofSeconds(30), Duration.ofSeconds(1),
        Duration.ofSeconds(60), Duration.ofMillis(10), Duration.ofMillis(50), 3, vacateAfter);
    loop = new AgentLoop(new AgentLoop.Parts(server, enrollment, runner, new Spool(data.resolve("spool")),
        () -> verdict), config, clock, BackoffTest.highest());
    loop.writeStatusTo(data.resolve("status.json"));
    loop.restore();
    return loop;
  }

  /** The state letter of a process in /proc/PID/stat: R, S, T (stopped)... */
  private static char state(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    return stat.charAt(stat.lastIndexOf(')') + 2);
  }

  /** The script's tree: the shell and its child {@code sleep}. */
  private List<ProcessHandle> tree(long batchId) {
    ProcessHandle root = loop.processOf(batchId).orElseThrow();
    List<ProcessHandle> all = new java.util.ArrayList<>(root.descendants().toList());
    all.add(0, root);
    return all;
  }

  @Test
  void ownerBackSuspendsTheTreeAndIdleAgainResumesIt() throws Exception {
    loop(Duration.ofMinutes(10));
    server.add(Leases.items(1, "sleep 300 & wait", 600));
    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
    await().atMost(WAIT).until(() -> loop.processOf(1).isPresent() && tree(1).size() >= 2);
    List<ProcessHandle> tree = tree(1);

    verdict = IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "user input just now (needs 15 min)");
    loop.checkIdle();

    for (ProcessHandle p : tree) {
      assertThat(state(p.pid())).as("pid %d", p.pid()).isEqualTo('T');
    }
    assertThat(loop.suspendedCount()).isEqualTo(1);
    var hb = loop.heartbeatRequest();
    assertThat(hb.state()).isEqualTo(WorkerState.OWNER_ACTIVE);
    assertThat(hb.reason()).isEqualTo(
        "user input just now (needs 15 min); 1 batch(es) suspended, vacated after 10 min");
    assertThat(hb.leases()).containsExactly(new LeaseRef(1, "token-1")); // the lease keeps being renewed
    var status = Json.mapper().readTree(Files.readAllBytes(data.resolve("status.json")));
    assertThat(status.path("verdict").asString()).isEqualTo("OWNER_ACTIVE");
    assertThat(status.path("batches").get(0).path("phase").asString()).isEqualTo("SUSPENDED");

    clock.advance(Duration.ofMinutes(9)); // within vacate-after
    verdict = IdleVerdict.run("test: idle again");
    loop.checkIdle();

    for (ProcessHandle p : tree) {
      assertThat(state(p.pid())).as("pid %d", p.pid()).isIn('S', 'R');
    }
    assertThat(loop.suspendedCount()).isZero();
    assertThat(loop.heartbeatRequest().state()).isEqualTo(WorkerState.BUSY);
    assertThat(server.fails()).isEmpty();
  }

  @Test
  void suspendedLongerThanVacateAfterIsVacatedAndReportedAsVacated() throws Exception {
    loop(Duration.ofMinutes(10));
    server.add(Leases.items(1, "sleep 300 & wait", 600));
    loop.tick();
    await().atMost(WAIT).until(() -> loop.processOf(1).isPresent() && tree(1).size() >= 2);
    List<ProcessHandle> tree = tree(1);

    verdict = IdleVerdict.wait(WorkerState.PAUSED_BY_OWNER, "paused by the owner until resumed");
    loop.checkIdle();
    assertThat(state(tree.get(0).pid())).isEqualTo('T');
    clock.advance(Duration.ofMinutes(10).minusSeconds(1));
    loop.checkIdle();
    assertThat(server.fails()).isEmpty();
    assertThat(tree.get(0).isAlive()).isTrue();

    clock.advance(Duration.ofSeconds(1));
    loop.checkIdle();

    await().atMost(WAIT).until(() -> {
      loop.tick(); // the next claim carries the result
      return server.fails().size() == 1;
    });
    assertThat(server.fails().get(0).outcome()).isEqualTo(AttemptOutcome.VACATED);
    assertThat(server.fails().get(0).error()).contains("paused by the owner").contains("vacate-after 10 min");
    await().atMost(WAIT).until(() -> tree.stream().noneMatch(ProcessHandle::isAlive));
    await().atMost(WAIT).until(loop::isIdle);
  }

  @Test
  void noClaimWhileNotIdleAndLeasesClaimedMeanwhileAreGivenBack() {
    loop(Duration.ofMinutes(10));
    server.add(Leases.items(1, "true", 60));
    verdict = IdleVerdict.wait(WorkerState.OUTSIDE_WINDOW, "outside the windows Mon-Fri 20:00-06:00");
    assertThat(loop.tick()).isEqualTo(TickOutcome.IDLE_VETO);
    assertThat(server.claims()).isEmpty();
    assertThat(loop.heartbeatRequest().state()).isEqualTo(WorkerState.OUTSIDE_WINDOW);
    assertThat(loop.heartbeatRequest().reason()).isEqualTo("outside the windows Mon-Fri 20:00-06:00");
  }

  @Test
  void vacateAfterZeroVacatesAtOnce() throws Exception {
    loop(Duration.ZERO);
    server.add(Leases.items(1, "sleep 300", 600));
    loop.tick();
    await().atMost(WAIT).until(() -> loop.processOf(1).isPresent());
    verdict = IdleVerdict.wait(WorkerState.ON_BATTERY, "on battery power");
    loop.checkIdle();
    await().atMost(WAIT).until(() -> {
      loop.tick(); // the next claim carries the result
      return server.fails().size() == 1;
    });
    assertThat(server.fails().get(0).outcome()).isEqualTo(AttemptOutcome.VACATED);
  }
}
