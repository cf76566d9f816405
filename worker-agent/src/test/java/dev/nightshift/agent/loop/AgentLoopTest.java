package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.idle.IdlePolicy;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.InstructionType;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.protocol.WorkerState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The loop against an in-memory server and real {@code sh} scripts; ticks are driven by the test. */
@DisabledOnOs(OS.WINDOWS)
class AgentLoopTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path data;
  private final FakeAgentServer server = new FakeAgentServer();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
  private final List<AgentLoop> loops = new ArrayList<>();
  private IdlePolicy idle = () -> IdleVerdict.run("test");
  private Enrollment enrollment;
  private boolean slotClaims; // off: the test drives every claim by tick()

  @AfterEach
  void stopLoops() {
    loops.forEach(AgentLoop::shutdown);
  }

  private AgentLoop loop(int slots) {
    return loop(slots, Duration.ofSeconds(1), Duration.ofSeconds(60));
  }

  private AgentLoop loop(int slots, Duration backoffBase, Duration backoffCap) {
    return loop(slots, backoffBase, backoffCap, Duration.ZERO, Duration.ofMillis(50));
  }

  private AgentLoop loop(
      int slots, Duration backoffBase, Duration backoffCap, Duration claimWait, Duration idleRecheck) {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = new Identity("worker-0", "agent-token-0", "http://fake");
    store.save(id);
    enrollment = new Enrollment(store, id, "http://fake", "enroll-token", "pc", slots, Map.of(), AgentLoopTest::host);
    server.authenticateWith(enrollment::token);
    RunnerConfig rc = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096,
        List.of("sh", "-c"), Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
    ScriptRunner runner = new ScriptRunner(rc, new WorkDirWorkspace(data.resolve("work")), clock);
    LoopConfig config = new LoopConfig(slots, claimWait, Duration.ofSeconds(30), backoffBase, backoffCap,
        Duration.ofMillis(10), idleRecheck, 3).withSlotClaims(slotClaims);
    AgentLoop loop = new AgentLoop(new AgentLoop.Parts(server, enrollment, runner, spool(), () -> idle.evaluate()),
        config, clock, BackoffTest.highest());
    loop.restore();
    loops.add(loop);
    return loop;
  }

  private Spool spool() {
    return new Spool(data.resolve("spool"));
  }

  private static HostFacts host() {
    return new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17");
  }

  private List<Path> spooled() throws IOException {
    return spool().list();
  }

  @Test
  void claimsOnlyAsManyBatchesAsFreeSlots() {
    AgentLoop loop = loop(2);
    for (long b = 1; b <= 3; b++) {
      server.add(Leases.items(b, "sleep 300", 600));
    }

    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
    assertThat(server.claims()).singleElement().satisfies(c -> assertThat(c.freeSlots()).isEqualTo(2));
    assertThat(loop.tick()).isEqualTo(TickOutcome.BUSY);
    assertThat(server.claims()).hasSize(1);

    assertThat(loop.heartbeatRequest().freeSlots()).isZero();
    assertThat(loop.heartbeatRequest().state()).isEqualTo(WorkerState.BUSY);
    assertThat(loop.heartbeatRequest().leases())
        .containsExactly(new LeaseRef(1, "token-1"), new LeaseRef(2, "token-2"));
  }

  /** Waits until the batches ran and their results are spooled, waiting in the outbox for the next claim. */
  private static void awaitSpooled(AgentLoop loop, int results) {
    await().atMost(WAIT).until(() -> loop.runningCount() == 0 && loop.pendingReports() == results);
  }

  @Test
  void resultIsSpooledThenRidesOnTheNextClaimAndIsDeletedOnceAccepted() throws Exception {
    AgentLoop loop = loop(1);
    List<List<Path>> spoolAtReport = new ArrayList<>();
    server.beforeReport(r -> {
      try {
        spoolAtReport.add(spooled());
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    server.add(Leases.items(1, "tr a-z A-Z", 10, "\"abc\"", "\"def\""));
    server.add(Leases.items(2, "true", 10));

    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
    awaitSpooled(loop, 1);
    assertThat(loop.heartbeatRequest().leases()).containsExactly(new LeaseRef(1, "token-1"));
    assertThat(server.completes()).isEmpty();

    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);

    ClaimRequest second = server.claims().get(1);
    assertThat(second.freeSlots()).as("the slot the result freed").isEqualTo(1);
    assertThat(second.waitMillis()).isZero();
    assertThat(second.completed()).singleElement().satisfies(c -> {
      assertThat(c.output()).isEqualTo("\"ABC\"\n\"DEF\"\n");
      assertThat(c.leaseToken()).isEqualTo("token-1");
      assertThat(c.exitCode()).isZero();
    });
    assertThat(spoolAtReport.get(0)).extracting(p -> p.getFileName().toString()).containsExactly("1-1.json");
    assertThat(server.separateCalls()).isZero();
    assertThat(loop.processOf(2).isPresent() || server.completes().size() == 1).isTrue();
    awaitSpooled(loop, 1);
    assertThat(spooled()).extracting(p -> p.getFileName().toString()).containsExactly("2-1.json");
    assertThat(Files.list(data.resolve("runs"))).isEmpty();
  }

  @Test
  void aFailedRequestKeepsTheResultsAndResendsThemWithBackoff() throws Exception {
    AgentLoop loop = loop(1);
    server.failReports(new ProtocolException(503, "down"), new ProtocolException(0, "cannot reach"));
    server.add(Leases.items(1, "echo out; exit 4", 10));

    loop.tick();
    awaitSpooled(loop, 1);
    assertThat(loop.tick()).isEqualTo(TickOutcome.BACKED_OFF);
    assertThat(server.reportAttempts()).isEqualTo(1);
    assertThat(loop.nextReportRetry()).contains(clock.instant().plusSeconds(1));

    // first retry after the first back-off (1 s ceiling): not before; meanwhile no claim, as the server still counts
    // the lease on the only slot
    assertThat(loop.tick()).isEqualTo(TickOutcome.BUSY);
    assertThat(server.claims()).hasSize(2);
    assertThat(server.reportAttempts()).isEqualTo(1);
    assertThat(spooled()).hasSize(1);
    assertThat(loop.heartbeatRequest().leases()).containsExactly(new LeaseRef(1, "token-1"));
    clock.advance(Duration.ofSeconds(1));
    loop.tick();
    assertThat(server.reportAttempts()).isEqualTo(2);
    assertThat(loop.nextReportRetry()).contains(clock.instant().plusSeconds(2));

    // second retry after a 2 s back-off
    clock.advance(Duration.ofMillis(1_999));
    loop.tick();
    assertThat(server.reportAttempts()).isEqualTo(2);
    clock.advance(Duration.ofMillis(1));
    loop.tick();

    assertThat(server.reportAttempts()).isEqualTo(3);
    assertThat(server.fails()).singleElement().satisfies(f -> {
      assertThat(f.outcome()).isEqualTo(AttemptOutcome.FAILED);
      assertThat(f.exitCode()).isEqualTo(4);
      assertThat(f.error()).isEqualTo("exit code 4");
    });
    assertThat(spooled()).isEmpty();
    assertThat(loop.heldLeases()).isEmpty();
    assertThat(server.separateCalls()).isZero();
  }

  @Test
  void aRetryAnswerKeepsTheSpoolFileAndTheResultIsSentAgain() throws Exception {
    AgentLoop loop = loop(1);
    server.answerReports(ReportStatus.RETRY);
    server.add(Leases.items(1, "echo hi", 10));

    loop.tick();
    awaitSpooled(loop, 1);
    assertThat(loop.tick()).isEqualTo(TickOutcome.NO_WORK);

    assertThat(spooled()).extracting(p -> p.getFileName().toString()).containsExactly("1-1.json");
    assertThat(loop.nextReportRetry()).contains(clock.instant().plusSeconds(1));
    assertThat(loop.heartbeatRequest().leases()).containsExactly(new LeaseRef(1, "token-1"));
    clock.advance(Duration.ofSeconds(1));
    loop.tick();

    assertThat(server.completes()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("hi\n"));
    assertThat(server.reportAttempts()).isEqualTo(2);
    assertThat(spooled()).isEmpty();
    assertThat(loop.isIdle()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(names = {"STALE", "NOT_YOURS", "WRONG_COMMIT", "CONFLICT", "UNKNOWN_BATCH", "INVALID", "DUPLICATE"})
  void aFinalAnswerDeletesTheSpoolFile(ReportStatus answer) throws Exception {
    AgentLoop loop = loop(1);
    server.answerReports(answer);
    server.add(Leases.items(1, "echo hi", 10));

    loop.tick();
    awaitSpooled(loop, 1);
    loop.tick();

    assertThat(loop.isIdle()).isTrue();
    assertThat(server.reportAttempts()).isEqualTo(1);
    assertThat(spooled()).isEmpty();
    clock.advance(Duration.ofMinutes(5));
    loop.tick();
    assertThat(server.reportAttempts()).isEqualTo(1);
    assertThat(server.separateCalls()).isZero();
  }

  @Test
  void resultsAServerDoesNotAnswerOnClaimsAreSentWithCompleteAndFail() throws Exception {
    AgentLoop loop = loop(1);
    server.ignoreClaimReports(true); // a server from before reports rode on claims
    server.add(Leases.items(1, "echo one", 10));

    loop.tick();
    awaitSpooled(loop, 1);
    loop.tick(); // carries the result: not answered
    assertThat(server.claims().get(1).reportCount()).isEqualTo(1);
    assertThat(spooled()).hasSize(1);
    loop.tick(); // sends it with its own call

    assertThat(server.completes()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("one\n"));
    assertThat(spooled()).isEmpty();

    // from now on a result is sent with its own call as soon as it is spooled, and claims carry none
    server.add(Leases.items(2, "exit 3", 10));
    loop.tick();
    await().atMost(WAIT).until(() -> server.fails().size() == 1);
    await().atMost(WAIT).until(loop::isIdle);
    assertThat(server.separateCalls()).isEqualTo(2);
    loop.tick();
    assertThat(server.claims()).allSatisfy(c -> assertThat(c.reportCount()).isLessThanOrEqualTo(1))
        .filteredOn(c -> c.reportCount() > 0).hasSize(1);
  }

  @Test
  void anIdentityConflictOnASeparateReportKeepsTheResult() throws Exception {
    AgentLoop loop = loop(1);
    server.ignoreClaimReports(true);
    server.failReports(new ProtocolException(409, "POST /agent/v1/complete: HTTP 409: another agent (host pc2,"
        + " address 10.0.0.2) is already using this identity (worker w-1): if this machine is a clone, ..."));
    server.add(Leases.items(1, "echo one", 10));

    loop.tick();
    awaitSpooled(loop, 1);
    loop.tick();
    loop.tick();

    assertThat(server.separateCalls()).isEqualTo(1);
    assertThat(server.completes()).isEmpty();
    assertThat(spooled()).hasSize(1);
    clock.advance(Duration.ofSeconds(1));
    loop.tick();
    assertThat(server.completes()).hasSize(1);
    assertThat(spooled()).isEmpty();
  }

  record Parked(AgentLoop loop, Path gate, java.util.concurrent.CompletableFuture<TickOutcome> tick) {}

  /**
   * A two-slot loop running batch 1, which waits for the file {@code gate} and then prints "one", with its next tick
   * parked on the server for the other slot.
   */
  private Parked batchOneGatedAndTheLoopParked() {
    AgentLoop loop = loop(2, Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofSeconds(30),
        Duration.ofSeconds(30));
    server.parkClaims(true);
    Path gate = data.resolve("gate");
    server.add(Leases.items(1, "while [ ! -e '" + gate + "' ]; do sleep 0.02; done; echo one", 10));
    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
    java.util.concurrent.CompletableFuture<TickOutcome> parkedTick =
        java.util.concurrent.CompletableFuture.supplyAsync(loop::tick); // asks for the other slot, parked
    await().atMost(WAIT).until(() -> server.parkedClaims() == 1);
    return new Parked(loop, gate, parkedTick);
  }

  @Test
  void aResultEndingWhileTheLoopIsParkedGoesOutAtOnceInAReportOnlyClaim() throws Exception {
    Parked parked = batchOneGatedAndTheLoopParked();
    AgentLoop loop = parked.loop();
    Path gate = parked.gate();
    java.util.concurrent.CompletableFuture<TickOutcome> parkedTick = parked.tick();
    Files.createFile(gate);

    await().atMost(WAIT).until(() -> server.completes().size() == 1);
    assertThat(server.parkedClaims()).as("the long poll goes on").isEqualTo(1);
    ClaimRequest reportOnly = server.claims().get(2);
    assertThat(reportOnly.freeSlots()).isZero();
    assertThat(reportOnly.waitMillis()).isZero();
    assertThat(reportOnly.completed()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("one\n"));
    await().atMost(WAIT).until(() -> spooled().isEmpty() && loop.isIdle());

    server.add(Leases.items(2, "true", 10)); // answers the parked claim
    assertThat(parkedTick.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(TickOutcome.CLAIMED);
    assertThat(server.claims().get(1).freeSlots()).isEqualTo(1);
    assertThat(server.maxOutstanding()).isLessThanOrEqualTo(2);
  }

  /**
   * The server counts a lease as held until it has its report. A result that ends while the loop is parked goes out
   * in a report-only claim from its slot thread; while that claim is on its way, and once it failed and the result
   * waits for its retry, the loop's claims must not ask for the result's slot; only a claim carrying the report may
   * (the server records a claim's reports before it leases). The report-only claim is held on its way by a latch.
   */
  @Test
  void aSlotStaysTakenUntilTheServerHasItsReportWhileAReportOnlyClaimIsOnItsWayOrWaitsForItsRetry()
      throws Exception {
    Parked parked = batchOneGatedAndTheLoopParked();
    AgentLoop loop = parked.loop();
    Path gate = parked.gate();
    java.util.concurrent.CompletableFuture<TickOutcome> parkedTick = parked.tick();
    java.util.concurrent.CountDownLatch onItsWay = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch arrive = new java.util.concurrent.CountDownLatch(1);
    server.beforeClaim(c -> {
      if (c.freeSlots() == 0 && c.reportCount() > 0 && onItsWay.getCount() > 0) {
        onItsWay.countDown();
        try {
          arrive.await(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });

    Files.createFile(gate); // batch 1 ends while the loop is parked
    assertThat(onItsWay.await(10, java.util.concurrent.TimeUnit.SECONDS)).as("report-only claim sent").isTrue();
    server.add(Leases.items(2, "sleep 300", 600)); // answers the parked claim: batch 2 runs
    assertThat(parkedTick.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(TickOutcome.CLAIMED);
    server.add(Leases.items(3, "sleep 300", 600));

    assertThat(loop.tick()).as("batch 1's report is on its way").isEqualTo(TickOutcome.BUSY);

    server.failReports(new ProtocolException(503, "down"));
    arrive.countDown();
    await().atMost(WAIT).until(() -> server.reportAttempts() == 1 && loop.nextReportRetry().isPresent());
    assertThat(loop.tick()).as("batch 1's report waits for its retry").isEqualTo(TickOutcome.BUSY);
    assertThat(server.claims()).hasSize(3); // the loop's two, the report-only one
    assertThat(server.maxOutstanding()).isLessThanOrEqualTo(2);

    clock.advance(Duration.ofSeconds(1)); // the retry falls due: the claim carrying it may ask for its slot
    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
    ClaimRequest carrying = server.claims().get(3);
    assertThat(carrying.freeSlots()).isEqualTo(1);
    assertThat(carrying.completed()).singleElement().satisfies(c -> assertThat(c.batchId()).isEqualTo(1));
    assertThat(loop.heldLeases()).extracting(LeaseRef::batchId).containsExactly(2L, 3L);
    assertThat(server.maxOutstanding()).isLessThanOrEqualTo(2);
  }

  @Test
  void neverHoldsMoreLeasesThanSlotsWhileResultsRideOnClaims() throws Exception {
    AgentLoop loop = loop(2, Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofSeconds(30),
        Duration.ofMillis(200));
    int n = 30;
    Thread daemon = runDaemonThrough(loop, n, 5, 3, "sleep 0.05; cat");
    loop.shutdown();
    daemon.join(10_000);

    assertEachCompletedOnceHoldingAtMost(2, n);
  }

  /**
   * Runs the loop as the daemon against parking claims while {@code n} {@code cat} batches (every
   * {@code slowEvery}th running {@code slow}) arrive in rounds of {@code round}, each drained (the loop parked again)
   * before the next, so results end while the loop is parked; returns once all are completed and nothing is held.
   */
  private Thread runDaemonThrough(AgentLoop loop, int n, int round, int slowEvery, String slow) {
    server.parkClaims(true);
    Thread daemon = new Thread(loop::runUntilStopped, "test-loop");
    daemon.start();
    for (long b = 1; b <= n; b++) {
      server.add(Leases.items(b, b % slowEvery == 0 ? slow : "cat", 10, Long.toString(b)));
      if (b % round == 0) {
        await().atMost(WAIT).until(() -> server.parkedClaims() == 1);
      }
    }
    await().atMost(WAIT).until(() -> server.completes().size() == n && loop.isIdle());
    return daemon;
  }

  private void assertEachCompletedOnceHoldingAtMost(int slots, int n) throws IOException {
    assertThat(server.maxOutstanding()).isLessThanOrEqualTo(slots);
    assertThat(server.completes()).extracting(CompleteRequest::batchId).doesNotHaveDuplicates().hasSize(n);
    assertThat(server.separateCalls()).isZero();
    assertThat(server.releases()).isEmpty();
    assertThat(spooled()).isEmpty();
  }

  @Test
  void aFreedSlotClaimsAtOnceWithoutWaitingForTheLoop() {
    slotClaims = true;
    AgentLoop loop = loop(2);
    server.add(Leases.items(1, "cat", 10, "1"));
    server.add(Leases.items(2, "sleep 300", 600));
    server.add(Leases.items(3, "cat", 10, "3"));

    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED); // batches 1 and 2
    // no further tick: batch 1's slot thread reports it and claims batch 3 itself, whose thread reports it in turn
    await().atMost(WAIT).until(() -> server.completes().size() == 2);

    List<ClaimRequest> claims = server.claims();
    assertThat(claims).hasSize(3);
    assertThat(claims.subList(1, 3)).allSatisfy(c -> {
      assertThat(c.freeSlots()).as("the slot just freed; the other runs batch 2").isEqualTo(1);
      assertThat(c.waitMillis()).as("a slot thread never long-polls").isZero();
    });
    assertThat(claims.get(1).completed()).extracting(CompleteRequest::batchId).containsExactly(1L);
    assertThat(claims.get(2).completed()).extracting(CompleteRequest::batchId).containsExactly(3L);
    assertThat(loop.runningCount()).isEqualTo(1);
    assertThat(server.maxOutstanding()).isLessThanOrEqualTo(2);
    assertThat(loop.tick()).as("the loop's next claim parks for the free slot").isEqualTo(TickOutcome.NO_WORK);
  }

  @Test
  void batchesEndingWhileASlotThreadsClaimIsOutRideOnItsNextClaimTogether() throws Exception {
    slotClaims = true;
    AgentLoop loop = loop(3);
    server.add(Leases.items(1, "cat", 10, "1"));
    server.add(Leases.items(2, "sleep 0.2; cat", 10, "2"));
    server.add(Leases.items(3, "sleep 0.2; cat", 10, "3"));
    for (long b = 4; b <= 6; b++) {
      server.add(Leases.items(b, "sleep 300", 600));
    }
    java.util.concurrent.CountDownLatch bothEnded = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
    server.beforeClaim(c -> { // holds batch 1's claim on its way until batches 2 and 3 have ended
      if (c.reportCount() > 0 && first.compareAndSet(true, false)) {
        try {
          bothEnded.await(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });

    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED); // batches 1, 2 and 3
    await().atMost(WAIT).until(() -> loop.pendingReports() == 3);
    Thread.sleep(100); // time for a (wrong) claim of batch 2's or 3's own thread to go out
    bothEnded.countDown();
    await().atMost(WAIT).until(() -> server.completes().size() == 3 && loop.runningCount() == 3);

    List<ClaimRequest> claims = server.claims();
    assertThat(claims).as("the tick's, batch 1's, then one for batches 2 and 3").hasSize(3);
    assertThat(claims.get(1).completed()).extracting(CompleteRequest::batchId).containsExactly(1L);
    assertThat(claims.get(1).freeSlots()).isEqualTo(1);
    assertThat(claims.get(2).completed()).extracting(CompleteRequest::batchId).containsExactlyInAnyOrder(2L, 3L);
    assertThat(claims.get(2).freeSlots()).as("both slots freed while the first claim was out").isEqualTo(2);
    assertThat(server.maxOutstanding()).isLessThanOrEqualTo(3);
  }

  @Test
  void slotThreadsAndTheLoopClaimTogetherWithoutHoldingMoreLeasesThanSlots() throws Exception {
    slotClaims = true;
    AgentLoop loop = loop(4, Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofSeconds(30),
        Duration.ofMillis(200));
    int n = 80;
    Thread daemon = runDaemonThrough(loop, n, 20, 4, "sleep 0.02; cat");
    await().atMost(WAIT).until(() -> server.parkedClaims() == 1);
    int claimsWhenDone = server.claims().size();
    Thread.sleep(300);
    int claimsLater = server.claims().size();
    loop.shutdown();
    daemon.join(10_000);

    assertEachCompletedOnceHoldingAtMost(4, n);
    assertThat(server.claims()).as("claims from slot threads")
        .anySatisfy(c -> assertThat(c.freeSlots() > 0 && c.waitMillis() == 0 && c.reportCount() > 0).isTrue());
    assertThat(claimsLater).as("no busy loop once the work is done: the loop stays parked").isEqualTo(claimsWhenDone);
  }

  /** A one-slot loop whose slot threads claim, running batch 1 ({@code script}) with batch 2 waiting on the server. */
  private AgentLoop slotClaimingLoopRunning(String script) {
    slotClaims = true;
    AgentLoop loop = loop(1);
    server.add(Leases.items(1, script, 10));
    server.add(Leases.items(2, "true", 10));
    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
    return loop;
  }

  @Test
  void noClaimFromASlotThreadWhileDraining() {
    AgentLoop loop = slotClaimingLoopRunning("sleep 0.3");

    server.instruct(Instruction.of(InstructionType.DRAIN, "maintenance"));
    loop.heartbeatOnce();
    awaitSpooled(loop, 1);

    assertThat(server.claims()).hasSize(1);
    assertThat(loop.tick()).isEqualTo(TickOutcome.DRAINING); // reports the result, claims nothing
    assertThat(server.claims()).hasSize(2);
    assertThat(server.claims().get(1).freeSlots()).isZero();
    assertThat(server.completes()).extracting(CompleteRequest::batchId).containsExactly(1L);
  }

  @Test
  void noClaimFromASlotThreadWhenTheIdleVerdictSaysStop() {
    AgentLoop loop = slotClaimingLoopRunning("sleep 1.5");
    // the tick's RUN verdict is over a second old when batch 1 ends: its thread asks the policy again
    idle = () -> IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "the owner is typing");

    awaitSpooled(loop, 1);

    assertThat(server.claims()).hasSize(1);
    assertThat(loop.lastVerdict().run()).isFalse();
    assertThat(loop.tick()).isEqualTo(TickOutcome.IDLE_VETO);
    assertThat(server.claims()).allSatisfy(c -> assertThat(c.freeSlots()).isLessThanOrEqualTo(1));
    assertThat(server.claims().get(1).freeSlots()).isZero();
  }

  @Test
  void spooledReportsAreHeldAndResentOnStartup() throws Exception {
    Instant t = clock.instant();
    spool().write(SpooledReport.of(2, new CompleteRequest(7, "token-7", null, null, 0, t, t, "done\n", "")));
    Files.writeString(data.resolve("spool").resolve("8-1.json"), "{not json");

    AgentLoop loop = loop(1);

    assertThat(loop.heartbeatRequest().leases()).containsExactly(new LeaseRef(7, "token-7"));
    assertThat(loop.heartbeatRequest().freeSlots()).isEqualTo(1);
    assertThat(loop.tick()).isEqualTo(TickOutcome.NO_WORK);
    assertThat(server.claims()).singleElement().satisfies(first -> {
      assertThat(first.freeSlots()).isEqualTo(1);
      assertThat(first.completed()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("done\n"));
    });
    assertThat(server.separateCalls()).isZero();
    assertThat(spooled()).isEmpty();
    assertThat(data.resolve("spool/8-1.json.bad")).exists();
    assertThat(loop.heldLeases()).isEmpty();
  }

  @Test
  void cancelLeaseKillsTheProcessTreeAndDropsTheResult() throws Exception {
    AgentLoop loop = loop(1);
    server.add(Leases.items(1, "sleep 300 & wait", 600));
    loop.tick();
    await().atMost(WAIT).until(() -> loop.processOf(1).map(p -> p.descendants().count() >= 1).orElse(false));
    ProcessHandle shell = loop.processOf(1).orElseThrow();
    List<ProcessHandle> tree = Stream.concat(Stream.of(shell), shell.descendants()).collect(Collectors.toList());

    server.instruct(Instruction.cancelLease(1, "token-1", "job cancelled"));
    loop.heartbeatOnce();

    await().atMost(WAIT).until(() -> tree.stream().noneMatch(ProcessHandle::isAlive));
    await().atMost(WAIT).until(loop::isIdle);
    assertThat(server.reportAttempts()).isZero();
    assertThat(spooled()).isEmpty();
    assertThat(loop.freeSlots()).isEqualTo(1);
  }

  @Test
  void drainStopsClaimsUntilResume() {
    AgentLoop loop = loop(1);
    server.add(Leases.items(1, "true", 10));

    server.instruct(Instruction.of(InstructionType.DRAIN, "maintenance"));
    loop.heartbeatOnce();

    assertThat(loop.tick()).isEqualTo(TickOutcome.DRAINING);
    assertThat(server.claims()).isEmpty();
    assertThat(loop.heartbeatRequest().state()).isEqualTo(WorkerState.DRAINING);

    server.instruct(Instruction.of(InstructionType.RESUME, "done"));
    loop.heartbeatOnce();

    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED);
  }

  @Test
  void idleVetoStopsClaimsAndIsReported() {
    AgentLoop loop = loop(1);
    idle = () -> IdleVerdict.wait(WorkerState.OWNER_ACTIVE, "the owner is typing");

    assertThat(loop.tick()).isEqualTo(TickOutcome.IDLE_VETO);

    assertThat(server.claims()).isEmpty();
    assertThat(loop.heartbeatRequest().state()).isEqualTo(WorkerState.OWNER_ACTIVE);
    assertThat(loop.heartbeatRequest().reason()).isEqualTo("the owner is typing");
  }

  @Test
  void serverErrorsBackOffAndTheLoopCarriesOn() {
    AgentLoop loop = loop(1);
    server.failClaims(new ProtocolException(503, "overloaded"));

    assertThat(loop.tick()).isEqualTo(TickOutcome.BACKED_OFF);
    assertThat(loop.pause()).isEqualTo(Duration.ofSeconds(1));
    assertThat(loop.tick()).isEqualTo(TickOutcome.BACKED_OFF);
    assertThat(loop.pause()).isEqualTo(Duration.ofSeconds(2));

    server.failClaims(new IllegalStateException("bug in the fake"));
    assertThat(loop.tick()).isEqualTo(TickOutcome.ERROR);

    server.failClaims(null);
    assertThat(loop.tick()).isEqualTo(TickOutcome.NO_WORK);
    server.failClaims(new ProtocolException(0, "unreachable"));
    loop.tick();
    assertThat(loop.pause()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aRetryAfterFromTheServerSetsThePause() {
    AgentLoop loop = loop(1);
    server.failClaims(new ProtocolException(503, "overloaded")); // back-off grows: 1 s, 2 s, 4 s
    loop.tick();
    loop.tick();
    loop.tick();
    assertThat(loop.pause()).isEqualTo(Duration.ofSeconds(4));

    server.failClaims(new ProtocolException(503, null, "database down", Duration.ofSeconds(6)));
    assertThat(loop.tick()).isEqualTo(TickOutcome.BACKED_OFF);
    assertThat(loop.pause()).as("what the server asked, not the grown back-off (8 s)").isEqualTo(Duration.ofSeconds(6));
  }

  @Test
  void revokedAgentTokenEnrollsAgainWithTheEnrollmentToken() throws Exception {
    AgentLoop loop = loop(1);
    server.revoke("agent-token-0");

    assertThat(loop.tick()).isEqualTo(TickOutcome.BACKED_OFF);
    assertThat(loop.tick()).isEqualTo(TickOutcome.NO_WORK);

    assertThat(server.registers).singleElement().satisfies(r -> assertThat(r.enrollmentToken()).isEqualTo("enroll-token"));
    assertThat(enrollment.token()).isEqualTo("agent-token-1");
    assertThat(new IdentityStore(data.resolve("identity.json")).load()).get()
        .extracting(Identity::workerId).isEqualTo("worker-1");
  }

  @Test
  void shutdownKillsRunningBatchesAndReleasesTheirLeases() {
    AgentLoop loop = loop(2);
    server.add(Leases.items(1, "sleep 300", 600));
    server.add(Leases.items(2, "sleep 300", 600));
    loop.tick();
    await().atMost(WAIT).until(() -> loop.processOf(1).isPresent() && loop.processOf(2).isPresent());
    ProcessHandle p1 = loop.processOf(1).orElseThrow();
    ProcessHandle p2 = loop.processOf(2).orElseThrow();

    loop.shutdown();

    assertThat(server.releases()).singleElement().satisfies(r -> {
      assertThat(r.reason()).isEqualTo("agent shutting down");
      assertThat(r.leases()).containsExactlyInAnyOrder(new LeaseRef(1, "token-1"), new LeaseRef(2, "token-2"));
    });
    await().atMost(WAIT).until(() -> !p1.isAlive() && !p2.isAlive());
    assertThat(server.reportAttempts()).isZero();
    assertThat(loop.tick()).isEqualTo(TickOutcome.STOPPED);
  }

  @Test
  void onceWorksWhileThereIsWorkThenExits() throws Exception {
    AgentLoop loop = loop(2);
    for (long b = 1; b <= 3; b++) {
      server.add(Leases.items(b, "wc -l", 10, "1", "2"));
    }

    int code = assertTimeoutPreemptively(WAIT, loop::runOnce);

    assertThat(code).isZero();
    assertThat(server.completes()).hasSize(3).allSatisfy(c -> assertThat(c.output().trim()).isEqualTo("2"));
    assertThat(spooled()).isEmpty();
  }

  @Test
  void onceGivesUpWhenTheServerKeepsFailing() {
    AgentLoop loop = loop(1, Duration.ofMillis(1), Duration.ofMillis(5));
    server.failClaims(new ProtocolException(503, "down"));

    int code = assertTimeoutPreemptively(WAIT, loop::runOnce);

    assertThat(code).isEqualTo(1);
    assertThat(server.claims()).hasSize(3);
  }

  @Test
  void onceExitsAtOnceWhenTheIdlePolicySaysNotNow() {
    AgentLoop loop = loop(1);
    idle = () -> IdleVerdict.wait(WorkerState.OUTSIDE_WINDOW, "outside 20:00-06:00");
    server.add(Leases.items(1, "true", 10));

    assertThat(loop.runOnce()).isZero();
    assertThat(server.claims()).isEmpty();
  }
}
