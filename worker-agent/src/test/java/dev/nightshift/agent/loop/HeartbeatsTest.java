package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.InstructionType;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.WorkerState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The heartbeat alone, against an in-memory server and a described agent; each beat is driven by the test. */
class HeartbeatsTest {
  @TempDir Path data;
  private final FakeAgentServer server = new FakeAgentServer();
  private final Described agent = new Described();
  private final List<Heartbeats> started = new ArrayList<>();

  /** The agent as the test sets it. */
  private static final class Described implements Heartbeats.Agent {
    volatile boolean stopping;
    volatile IdleVerdict verdict;
    volatile int running;
    volatile int suspended;
    volatile int free = 2;
    volatile List<LeaseRef> held = List.of();
    volatile String commit;
    final AtomicInteger idleRechecks = new AtomicInteger();

    @Override
    public boolean stopping() {
      return stopping;
    }

    @Override
    public IdleVerdict lastVerdict() {
      return verdict;
    }

    @Override
    public int running() {
      return running;
    }

    @Override
    public int suspended() {
      return suspended;
    }

    @Override
    public int free() {
      return free;
    }

    @Override
    public List<LeaseRef> heldLeases() {
      return held;
    }

    @Override
    public String currentCommit() {
      return commit;
    }

    @Override
    public void recheckIdle() {
      idleRechecks.incrementAndGet();
    }
  }

  @AfterEach
  void stop() {
    started.forEach(Heartbeats::stop);
  }

  private Enrollment enrollment(boolean enrolled) {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = enrolled ? new Identity("worker-0", "agent-token-0", "http://fake") : null;
    Enrollment e = new Enrollment(store, id, "http://fake", null, "pc", 2, Map.of(),
        () -> new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17"));
    server.authenticateWith(e::token);
    return e;
  }

  private Heartbeats heartbeats(Enrollment enrollment, Duration every, Duration idleRecheck) {
    LoopConfig config = new LoopConfig(2, Duration.ZERO, every, Duration.ofSeconds(1), Duration.ofSeconds(60),
        Duration.ofMillis(10), idleRecheck, 3, Duration.ofMinutes(10));
    Heartbeats[] self = new Heartbeats[1];
    Instructions instructions = new Instructions(new Instructions.Effects() {
      @Override
      public void cancelLease(Long batchId, String leaseToken, String reason) {}

      @Override
      public boolean prefetch(String commit, String version) {
        return false;
      }

      @Override
      public void heartbeatEvery(long millis) {
        self[0].every(millis);
      }

      @Override
      public void wake() {}
    });
    self[0] = new Heartbeats(server, enrollment, instructions, config, agent);
    return self[0];
  }

  private Heartbeats heartbeats(Enrollment enrollment) {
    return heartbeats(enrollment, Duration.ofSeconds(5), Duration.ofSeconds(60));
  }

  @Test
  void aBeatNamesEveryHeldLeaseAndTheNextComesAfterTheIntervalTheServerNames() {
    Heartbeats heartbeats = heartbeats(enrollment(true));
    agent.running = 1;
    agent.free = 1;
    agent.held = List.of(new LeaseRef(7, "token-7"));
    agent.commit = "c1";

    assertThat(heartbeats.beat()).as("the fake server names 30 s").isEqualTo(30_000);

    assertThat(server.heartbeats()).singleElement().isEqualTo(new HeartbeatRequest(
        WorkerState.BUSY, "running 1 of 2 slots", 2, 1, List.of(new LeaseRef(7, "token-7")), "c1"));
    assertThat(heartbeats.everyMillis()).isEqualTo(30_000);
  }

  @Test
  void theDelayToTheNextBeatIsSpreadOverTheIntervalsLastTenthNeverLonger() {
    java.util.Set<Long> seen = new java.util.HashSet<>();
    for (int i = 0; i < 1_000; i++) {
      long d = Heartbeats.spread(30_000);
      assertThat(d).isBetween(27_000L, 30_000L);
      seen.add(d);
    }
    assertThat(seen).as("a fleet that started together drifts apart").hasSizeGreaterThan(100);
    assertThat(Heartbeats.spread(Heartbeats.MIN_DELAY_MILLIS)).isBetween(90L, Heartbeats.MIN_DELAY_MILLIS);
  }

  @Test
  void beforeEnrollmentNoHeartbeatGoesOutAndTheNextStepComesWithinASecond() {
    Heartbeats heartbeats = heartbeats(enrollment(false));

    assertThat(heartbeats.beat()).isEqualTo(1_000);
    heartbeats.every(300);
    assertThat(heartbeats.beat()).isEqualTo(300);
    heartbeats.every(10);
    assertThat(heartbeats.beat()).as("never below the floor").isEqualTo(Heartbeats.MIN_DELAY_MILLIS);
    heartbeats.beatOnce();

    assertThat(server.heartbeats()).isEmpty();
  }

  @Test
  void theReplysInstructionsAreFollowed() {
    Heartbeats heartbeats = heartbeats(enrollment(true));
    server.instruct(Instruction.of(InstructionType.DRAIN, "maintenance"));

    heartbeats.beatOnce();

    assertThat(heartbeats.request().state()).isEqualTo(WorkerState.DRAINING);
    assertThat(heartbeats.request().reason()).isEqualTo("draining: maintenance");
  }

  @Test
  void theStateSaysWhyTheAgentDoesNotRunInOrderShutdownDrainIdlePolicyBusyIdle() {
    Heartbeats heartbeats = heartbeats(enrollment(true));
    assertThat(heartbeats.request().state()).isEqualTo(WorkerState.IDLE);
    assertThat(heartbeats.request().reason()).isEqualTo("waiting for work");

    agent.verdict = IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "the owner is typing");
    agent.running = 1;
    assertThat(heartbeats.request().state()).isEqualTo(WorkerState.OWNER_ACTIVE);
    assertThat(heartbeats.request().reason()).isEqualTo("the owner is typing");
    agent.suspended = 1;
    assertThat(heartbeats.request().reason())
        .isEqualTo("the owner is typing; 1 batch(es) suspended, vacated after 10 min");

    agent.stopping = true;
    assertThat(heartbeats.request().state()).isEqualTo(WorkerState.DRAINING);
    assertThat(heartbeats.request().reason()).isEqualTo("agent shutting down");
  }

  @Test
  void theThreadBeatsAtOnceRechecksTheIdlePolicyAndStopsAfterAnOfflineGoodbye() {
    Heartbeats heartbeats = heartbeats(enrollment(true), Duration.ofSeconds(5), Duration.ofMillis(100));
    started.add(heartbeats);
    agent.held = List.of(new LeaseRef(7, "token-7"));

    heartbeats.start();
    heartbeats.start(); // once only

    await().atMost(Duration.ofSeconds(10)).until(() -> server.heartbeats().size() == 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.idleRechecks.get() >= 2);
    heartbeats.stop();

    assertThat(server.heartbeats()).hasSize(2);
    assertThat(server.heartbeats().get(1)).isEqualTo(new HeartbeatRequest(
        WorkerState.OFFLINE, "agent shutting down", 2, 0, List.of(new LeaseRef(7, "token-7")), null));
  }

  @Test
  void noGoodbyeBeforeEnrollment() {
    heartbeats(enrollment(false)).stop();

    assertThat(server.heartbeats()).isEmpty();
  }
}
