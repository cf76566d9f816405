package dev.nightshift.agent.loop;

import static dev.nightshift.agent.system.AtomicFiles.deleteQuietly;

import dev.nightshift.agent.runner.RunResult;
import dev.nightshift.agent.runner.ScriptRun;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.Lease;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * Runs one leased batch on a slot: prepares its run (checkout and workspace, by the {@link ScriptRunner}), runs it,
 * spools its result and hands it to the {@link ReportOutbox} as the lease leaves the running ones
 * ({@link Slots#finished}), so every heartbeat keeps naming the lease, and its slot stays taken, until the server
 * answers. A cancelled or shut-down batch's result is dropped, never reported.
 */
final class BatchRunner {
  private static final Logger LOG = Logger.getLogger(BatchRunner.class.getName());

  /** What a batch's end asks of the loop. */
  interface Then {
    /** A result has just entered the outbox: report it. */
    void reportReady();

    /** A batch ended without a result to report (its slot is free): end the loop's rest. */
    void wake();
  }

  private final ScriptRunner runner;
  private final Slots slots;
  private final Spool spool;
  private final ReportOutbox outbox;
  private final Clock clock;
  private final Then then;

  BatchRunner(ScriptRunner runner, Slots slots, Spool spool, ReportOutbox outbox, Clock clock, Then then) {
    this.runner = runner;
    this.slots = slots;
    this.spool = spool;
    this.outbox = outbox;
    this.clock = clock;
    this.then = then;
  }

  /**
   * Takes a slot for {@code lease} and runs its batch on the slot's thread.
   *
   * @throws IllegalStateException when no slot is free (nothing runs)
   */
  void start(Lease lease) {
    ScriptRun run = runner.prepare(lease);
    HeldLease h = new HeldLease(lease.ref(), lease.attempt(), run);
    LOG.info(h.describe() + " (job " + lease.jobId() + ") started: " + itemsText(lease) + ", timeout "
        + lease.timeoutSeconds() + " s");
    slots.start(h, () -> runAndReport(h, lease));
  }

  /** Deletes the output files of runs a previous agent never finished and keeps the newest per-attempt logs. */
  void cleanUpAfterPreviousRun(int attemptLogsKept) {
    Path runs = runner.config().runsDir();
    if (Files.isDirectory(runs)) {
      try (var s = Files.list(runs)) {
        s.forEach(dev.nightshift.agent.system.AtomicFiles::deleteTreeQuietly); // outputs and scratch dirs
      } catch (IOException e) {
        LOG.fine("cannot clean " + runs + ": " + e.getMessage());
      }
    }
    pruneAttemptLogs(runner.config().attemptLogsDir(), attemptLogsKept);
  }

  /** Keeps the newest {@code keep} per-attempt logs. */
  static void pruneAttemptLogs(Path dir, int keep) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var s = Files.list(dir)) {
      List<Path> logs =
          s.filter(p -> p.getFileName().toString().endsWith(".log"))
              .sorted(Comparator.comparing((Path p) -> p.toFile().lastModified()).reversed())
              .collect(Collectors.toList());
      logs.stream().skip(keep).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.fine("cannot prune " + dir + ": " + e.getMessage());
    }
  }

  private static String itemsText(Lease lease) {
    if (lease.input() == null) {
      return "no input";
    }
    if (lease.input().isRange()) {
      return "range " + lease.input().rangeStart() + ".." + lease.input().rangeEnd();
    }
    return lease.input().itemCount() + " items";
  }

  /** The slot thread's work. Never throws. */
  private void runAndReport(HeldLease h, Lease lease) {
    try {
      RunResult r;
      try {
        r = h.run.run();
      } catch (Throwable t) {
        Instant now = clock.instant();
        r = new RunResult(AttemptOutcome.FAILED, null, now, now, "agent error: " + t, "", null, 0);
      }
      LOG.info(h.describe() + " finished: " + r.outcome()
          + (r.exitCode() != null ? ", exit code " + r.exitCode() : "")
          + ", " + r.duration().toMillis() + " ms, " + r.outputBytes() + " bytes of output"
          + (r.error() != null ? " (" + r.error() + ")" : ""));
      if (r.outcome() == AttemptOutcome.CANCELLED || h.cancelReason != null || h.stoppedForShutdown) {
        deleteQuietly(r.outputFile());
        if (!h.stoppedForShutdown) {
          LOG.info(h.describe() + ": result dropped: " + Objects.requireNonNullElse(h.cancelReason, r.error()));
          slots.ended(h.ref.leaseToken());
        }
        then.wake();
        return;
      }
      SpooledReport report = toReport(lease, r, h.run.dataAtStart());
      Path spoolFile = null;
      try {
        spoolFile = spool.write(report);
      } catch (IOException e) {
        LOG.severe(h.describe() + ": cannot spool the result (" + e.getMessage() + "); keeping it in memory only");
      }
      deleteQuietly(r.outputFile());
      Path spooled = spoolFile;
      // into the outbox as it leaves the running ones: every heartbeat keeps naming the lease, and its slot stays
      // taken until the server has the report
      slots.finished(h.ref.leaseToken(), () -> outbox.add(report, spooled));
      if (h.cancelReason != null) {
        outbox.drop(h.ref, h.cancelReason);
        then.wake();
        return;
      }
      then.reportReady();
    } catch (Throwable t) {
      LOG.log(Level.SEVERE, h.describe() + ": unexpected error after the run", t);
    }
  }

  private SpooledReport toReport(Lease lease, RunResult r, dev.nightshift.protocol.DataState data) {
    if (r.outcome() == AttemptOutcome.SUCCEEDED) {
      String output;
      try {
        output = new String(Files.readAllBytes(r.outputFile()), StandardCharsets.UTF_8);
      } catch (IOException e) {
        Instant now = clock.instant();
        return SpooledReport.of(lease.attempt(), new FailRequest(
            lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(), AttemptOutcome.FAILED, 0,
            r.startedAt(), now, "cannot read the output file: " + e.getMessage(), r.logTail(), data));
      }
      return SpooledReport.of(lease.attempt(), new CompleteRequest(
          lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(), 0, r.startedAt(), r.finishedAt(),
          output, r.logTail(), data));
    }
    return SpooledReport.of(lease.attempt(), new FailRequest(
        lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(), r.outcome(), r.exitCode(),
        r.startedAt(), r.finishedAt(), r.error(), r.logTail(), data));
  }
}
