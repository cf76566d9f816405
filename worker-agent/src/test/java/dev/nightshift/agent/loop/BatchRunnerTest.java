package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.LeaseRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** One batch's run alone: real {@code sh} scripts on real slots, the result spooled and handed to the outbox. */
@DisabledOnOs(OS.WINDOWS)
class BatchRunnerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path data;
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
  private final Slots slots = new Slots(1);
  private final AtomicInteger reportsReady = new AtomicInteger();
  private final AtomicInteger wakes = new AtomicInteger();
  private ReportOutbox outbox;
  private BatchRunner batches;

  @AfterEach
  void stopSlots() throws InterruptedException {
    slots.stopAll("test over");
    slots.shutdown();
    slots.awaitTermination(WAIT);
  }

  private RunnerConfig runnerConfig() {
    return new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096,
        List.of("sh", "-c"), Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
  }

  private BatchRunner batches() {
    Spool spool = spool();
    outbox = new ReportOutbox(spool, clock,
        () -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), BackoffTest.highest()), 1 << 20);
    ScriptRunner runner = new ScriptRunner(runnerConfig(), new WorkDirWorkspace(data.resolve("work")), clock);
    batches = new BatchRunner(runner, slots, spool, outbox, clock, new BatchRunner.Then() {
      @Override
      public void reportReady() {
        reportsReady.incrementAndGet();
      }

      @Override
      public void wake() {
        wakes.incrementAndGet();
      }
    });
    return batches;
  }

  private Spool spool() {
    return new Spool(data.resolve("spool"));
  }

  private List<String> spooled() throws IOException {
    return spool().list().stream().map(p -> p.getFileName().toString()).toList();
  }

  private static List<Path> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }

  @Test
  void aFinishedBatchIsSpooledAndInTheOutboxBeforeItsSlotIsFreedThenReported() throws Exception {
    batches().start(Leases.items(1, "tr a-z A-Z", 10, "\"abc\""));
    assertThat(slots.running()).isEqualTo(1);

    await().atMost(WAIT).until(() -> reportsReady.get() == 1);

    assertThat(slots.running()).isZero();
    assertThat(wakes).hasValue(0);
    assertThat(spooled()).containsExactly("1-1.json");
    assertThat(files(data.resolve("runs"))).as("the output file is deleted once spooled").isEmpty();
    ReportOutbox.Batch due = outbox.takeDue();
    assertThat(due.failedOrNull()).isNull();
    assertThat(due.completed()).singleElement().satisfies(c -> {
      assertThat(c.batchId()).isEqualTo(1);
      assertThat(c.leaseToken()).isEqualTo("token-1");
      assertThat(c.output()).isEqualTo("\"ABC\"\n");
      assertThat(c.exitCode()).isZero();
    });
  }

  @Test
  void aFailedScriptBecomesAFailReportWithItsExitCode() throws Exception {
    batches().start(Leases.items(2, "echo out; exit 4", 10));

    await().atMost(WAIT).until(() -> reportsReady.get() == 1);

    assertThat(spooled()).containsExactly("2-1.json");
    assertThat(outbox.takeDue().failed()).singleElement().satisfies(f -> {
      assertThat(f.outcome()).isEqualTo(AttemptOutcome.FAILED);
      assertThat(f.exitCode()).isEqualTo(4);
      assertThat(f.error()).isEqualTo("exit code 4");
    });
  }

  @Test
  void aCancelledBatchsResultIsDroppedAndItsSlotFreed() throws Exception {
    batches().start(Leases.items(3, "sleep 300", 600));
    HeldLease h = slots.find("token-3", null).orElseThrow();

    h.cancelReason = "cancelled by the server";
    h.run.cancel("cancelled by the server");

    await().atMost(WAIT).until(() -> wakes.get() == 1);
    assertThat(slots.running()).isZero();
    assertThat(reportsReady).hasValue(0);
    assertThat(outbox.isEmpty()).isTrue();
    assertThat(spooled()).isEmpty();
  }

  @Test
  void aBatchStoppedForShutdownKeepsItsSlotForTheLoopToGiveItsLeaseBack() throws Exception {
    batches().start(Leases.items(4, "sleep 300", 600));

    List<HeldLease> stopped = slots.stopAll("agent shutting down");

    assertThat(stopped).extracting(x -> x.ref).containsExactly(new LeaseRef(4, "token-4"));
    await().atMost(WAIT).until(() -> wakes.get() == 1);
    assertThat(slots.isHeld("token-4")).isTrue();
    assertThat(reportsReady).hasValue(0);
    assertThat(outbox.isEmpty()).isTrue();
    assertThat(spooled()).isEmpty();
  }

  @Test
  void noBatchStartsWithoutAFreeSlot() {
    BatchRunner batches = batches();
    batches.start(Leases.items(5, "sleep 300", 600));

    assertThatThrownBy(() -> batches.start(Leases.items(6, "true", 10)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no free slot");
    assertThat(slots.isHeld("token-6")).isFalse();
  }

  @Test
  void cleaningUpDeletesLeftOverOutputsAndKeepsTheNewestAttemptLogs() throws Exception {
    Path runs = Files.createDirectories(data.resolve("runs"));
    Files.writeString(runs.resolve("9-1.out"), "half");
    Path logs = Files.createDirectories(data.resolve("logs/attempts"));
    for (int i = 1; i <= 4; i++) {
      Path log = Files.writeString(logs.resolve("batch-" + i + ".log"), "log " + i);
      Files.setLastModifiedTime(log, FileTime.from(Instant.parse("2026-11-22T10:00:00Z").plusSeconds(i)));
    }
    Files.writeString(logs.resolve("notes.txt"), "not a log");

    batches().cleanUpAfterPreviousRun(2);

    assertThat(files(runs)).isEmpty();
    assertThat(files(logs)).extracting(p -> p.getFileName().toString())
        .containsExactlyInAnyOrder("batch-3.log", "batch-4.log", "notes.txt");
  }
}
