package dev.nightshift.agent.loop;

import dev.nightshift.agent.spool.Reporter;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReportAnswer;
import dev.nightshift.protocol.ReportStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Finished results that the server has not answered for good: each is spooled first, then rides on the next claim
 * ({@link #takeDue}), and leaves (its spool file deleted) only on a final answer. A RETRY answer or a failed request
 * keeps it and pushes its next send back by its own exponential back-off. Results the server did not answer on a
 * claim (an older server ignores the fields) are sent with the separate complete/fail calls instead
 * ({@link #sendSeparately}). Thread-safe; never talks to the server itself except through the given reporter.
 */
final class ReportOutbox {
  private static final Logger LOG = Logger.getLogger(ReportOutbox.class.getName());

  /** One result waiting for its final answer. */
  static final class Entry {
    final LeaseRef ref;
    final int attempt;
    final Path spoolFile; // null when the result could not be spooled (kept in memory only)
    final Backoff backoff;
    private SpooledReport report; // in memory until the first failed send; re-read from the spool after that
    private Instant notBefore = Instant.MIN;
    private boolean inFlight;
    private boolean separately;

    private Entry(LeaseRef ref, int attempt, Path spoolFile, SpooledReport report, Backoff backoff) {
      this.ref = ref;
      this.attempt = attempt;
      this.spoolFile = spoolFile;
      this.report = report;
      this.backoff = backoff;
    }

    String describe() {
      return "batch " + ref.batchId() + " attempt " + attempt;
    }
  }

  /** Reports taken to ride on one claim; {@link #answered} or {@link #failed} must follow. */
  record Batch(List<Entry> entries, List<CompleteRequest> completed, List<FailRequest> failed) {
    static final Batch EMPTY = new Batch(List.of(), List.of(), List.of());

    boolean isEmpty() {
      return entries.isEmpty();
    }

    /** The completions for the claim, null when none (so an older server sees the claim it knows). */
    List<CompleteRequest> completedOrNull() {
      return completed.isEmpty() ? null : completed;
    }

    List<FailRequest> failedOrNull() {
      return failed.isEmpty() ? null : failed;
    }
  }

  private final Spool spool;
  private final Clock clock;
  private final Supplier<Backoff> backoffs;
  private final long maxClaimBytes;
  private final Map<String, Entry> entries = new LinkedHashMap<>(); // by lease token, oldest first
  private boolean separateOnly;

  /**
   * @param backoffs a fresh back-off per result
   * @param maxClaimBytes how much output one claim carries at most (a single larger result still goes alone)
   */
  ReportOutbox(Spool spool, Clock clock, Supplier<Backoff> backoffs, long maxClaimBytes) {
    this.spool = spool;
    this.clock = clock;
    this.backoffs = backoffs;
    this.maxClaimBytes = maxClaimBytes;
  }

  /** A result just spooled at {@code spoolFile} (null when spooling failed): due at once. */
  synchronized void add(SpooledReport report, Path spoolFile) {
    Entry e = new Entry(report.ref(), report.attempt(), spoolFile, report, backoffs.get());
    e.separately = separateOnly;
    entries.put(report.ref().leaseToken(), e);
  }

  /**
   * Takes up every result a previous run left in the spool (due at once, named in heartbeats); a file that cannot be
   * read is moved aside as {@code .bad}.
   */
  void restoreSpooled() {
    try {
      for (Path file : spool.list()) {
        try {
          SpooledReport r = spool.read(file);
          restore(r, file);
          LOG.info(r.describe() + ": spooled result found, will re-send it with the first claim");
        } catch (IOException e) {
          LOG.warning(e.getMessage() + "; moved aside as .bad");
          spool.quarantine(file);
        }
      }
    } catch (IOException e) {
      LOG.warning("cannot read the spool " + spool.dir() + ": " + e.getMessage());
    }
  }

  /** A result a previous run left in the spool: due at once, read again from disk when sent. */
  synchronized void restore(SpooledReport report, Path spoolFile) {
    Entry e = new Entry(report.ref(), report.attempt(), spoolFile, null, backoffs.get());
    e.separately = separateOnly;
    entries.put(report.ref().leaseToken(), e);
  }

  /**
   * Takes the due results that ride on claims (oldest first, up to the byte budget, at least one) and marks them in
   * flight; empty when none is due or the server is known not to answer reports on claims.
   */
  synchronized Batch takeDue() {
    if (separateOnly) {
      return Batch.EMPTY;
    }
    Instant now = clock.instant();
    List<Entry> taken = new ArrayList<>();
    List<CompleteRequest> completed = new ArrayList<>();
    List<FailRequest> failed = new ArrayList<>();
    long bytes = 0;
    for (Entry e : List.copyOf(entries.values())) {
      if (e.inFlight || e.separately || now.isBefore(e.notBefore)) {
        continue;
      }
      SpooledReport r = load(e);
      if (r == null) {
        continue;
      }
      long size = size(r);
      if (!taken.isEmpty() && bytes + size > maxClaimBytes) {
        break;
      }
      bytes += size;
      e.inFlight = true;
      taken.add(e);
      if (r.complete() != null) {
        completed.add(r.complete());
      } else {
        failed.add(r.fail());
      }
    }
    return taken.isEmpty() ? Batch.EMPTY : new Batch(taken, completed, failed);
  }

  /** Puts back reports taken for a claim that is not made after all: due again at once, no back-off. */
  synchronized void putBack(Batch batch) {
    batch.entries().forEach(e -> e.inFlight = false);
  }

  /**
   * Applies the server's answers to a claim that carried {@code batch}: final ones delete the spool file, RETRY
   * backs off, and a report left unanswered goes out with the separate call instead. A claim answered without
   * any report answer came from a server that ignores them: from then on every result uses the separate calls.
   */
  synchronized void answered(Batch batch, List<ReportAnswer> answers) {
    if (batch.isEmpty()) {
      return;
    }
    if (answers == null || answers.isEmpty()) {
      if (!separateOnly) {
        LOG.info("the server does not answer reports carried by claims (an older server?): sending results with"
            + " separate complete/fail calls from now on");
      }
      separateOnly = true;
      entries.values().forEach(e -> e.separately = true);
    }
    Map<String, ReportAnswer> byToken = new HashMap<>();
    if (answers != null) {
      for (ReportAnswer a : answers) {
        if (a != null && a.leaseToken() != null) {
          byToken.put(a.batchId() + "/" + a.leaseToken(), a);
        }
      }
    }
    for (Entry e : batch.entries()) {
      e.inFlight = false;
      if (entries.get(e.ref.leaseToken()) != e) {
        continue; // dropped meanwhile (cancelled by the server)
      }
      ReportAnswer a = byToken.get(e.ref.batchId() + "/" + e.ref.leaseToken());
      if (a == null || a.status() == null) {
        e.separately = true;
        LOG.fine(() -> e.describe() + ": not answered on the claim; sending it with a separate call");
      } else if (a.status() == ReportStatus.RETRY) {
        retryLater(e, "the server asked to retry" + (a.detail() == null ? "" : ": " + a.detail()));
      } else if (a.status() == ReportStatus.INVALID) {
        reject(e, "the server refused the result as invalid" + (a.detail() == null ? "" : ": " + a.detail()));
      } else {
        finish(e, a.status().isRecorded()
            ? "result " + a.status() + " by the server"
            : "result dropped: " + a.status() + (a.detail() == null ? "" : " (" + a.detail() + ")"),
            a.status().isRecorded());
      }
    }
  }

  /**
   * The claim carrying {@code batch} failed as a whole: nothing was recorded, so every result stays and backs off;
   * a claim refused as malformed or too large (400, 413, 422) sends its results separately instead, so one bad
   * result cannot hold back the others or the claims.
   */
  synchronized void failed(Batch batch, Throwable error) {
    boolean refusedWhole =
        error instanceof ProtocolException p
            && (p.status() == 400 || p.status() == 413 || p.status() == 422);
    for (Entry e : batch.entries()) {
      e.inFlight = false;
      if (entries.get(e.ref.leaseToken()) != e) {
        continue;
      }
      if (refusedWhole) {
        e.separately = true;
      } else {
        retryLater(e, null); // the loop logs the failed claim once per streak
        LOG.fine(() -> e.describe() + ": report not delivered (" + error.getMessage() + "); will retry");
      }
    }
  }

  /**
   * Sends each due result that must not ride on a claim with its own complete/fail call, and applies the answer.
   *
   * @param onUnauthorized called when the server refused the agent token (the result stays and backs off)
   */
  void sendSeparately(Reporter reporter, Runnable onUnauthorized) {
    while (true) {
      Entry e;
      SpooledReport r;
      synchronized (this) {
        e = nextSeparate();
        if (e == null) {
          return;
        }
        r = load(e);
        if (r == null) {
          continue;
        }
        e.inFlight = true;
      }
      Reporter.Verdict v = reporter.send(r);
      synchronized (this) {
        e.inFlight = false;
        if (entries.get(e.ref.leaseToken()) != e) {
          continue;
        }
        switch (v) {
          case DELIVERED -> finish(e, null, true); // the reporter logged the answer
          case DROPPED -> finish(e, null, false);
          case REJECTED -> reject(e, null);
          case UNAUTHORIZED, RETRY -> retryLater(e, null);
        }
      }
      if (v == Reporter.Verdict.UNAUTHORIZED) {
        onUnauthorized.run();
        return;
      }
    }
  }

  private Entry nextSeparate() {
    Instant now = clock.instant();
    for (Entry e : entries.values()) {
      if (e.separately && !e.inFlight && !now.isBefore(e.notBefore)) {
        return e;
      }
    }
    return null;
  }

  /** Whether a result is due for a separate call now. */
  synchronized boolean hasSeparateDue() {
    return nextSeparate() != null;
  }

  /** Forgets the result of a lease the server cancelled: its spool file is deleted, and it is never sent again. */
  synchronized boolean drop(LeaseRef ref, String reason) {
    Entry e = entries.get(ref.leaseToken());
    if (e == null) {
      return false;
    }
    finish(e, "result dropped: " + reason, false);
    return true;
  }

  /** The result of this lease token, if it waits here. */
  synchronized Optional<LeaseRef> find(String leaseToken, Long batchId) {
    if (leaseToken != null) {
      Entry e = entries.get(leaseToken);
      return e == null ? Optional.empty() : Optional.of(e.ref);
    }
    return entries.values().stream().filter(e -> batchId != null && e.ref.batchId() == batchId).map(e -> e.ref)
        .findFirst();
  }

  /** When the next result not in flight falls due (possibly in the past); empty when none waits. */
  synchronized Optional<Instant> nextDue() {
    return entries.values().stream().filter(e -> !e.inFlight).map(e -> e.notBefore).min(Instant::compareTo);
  }

  /** How long until a result not in flight falls due: zero when one is due, {@code max} when none waits. */
  Duration untilDue(Duration max) {
    Optional<Instant> due = nextDue();
    if (due.isEmpty()) {
      return max;
    }
    Instant now = clock.instant();
    Duration d = now.isBefore(due.get()) ? Duration.between(now, due.get()) : Duration.ZERO;
    return d.compareTo(max) < 0 ? d : max;
  }

  /** When the earliest scheduled retry falls due; empty when no result waits for a retry. */
  synchronized Optional<Instant> nextRetry() {
    return entries.values().stream()
        .filter(e -> !e.inFlight && !e.notBefore.equals(Instant.MIN))
        .map(e -> e.notBefore)
        .min(Instant::compareTo);
  }

  /**
   * The lease tokens of every result waiting here, in flight or not: the server counts their leases as held, so
   * their slots are not free for a claim that does not carry them ({@link Slots#reserve}).
   */
  synchronized List<String> tokens() {
    return List.copyOf(entries.keySet());
  }

  synchronized List<LeaseRef> refs() {
    return entries.values().stream().map(e -> e.ref).toList();
  }

  /** batch id and attempt of each waiting result, for the status file. */
  synchronized List<Entry> snapshot() {
    return List.copyOf(entries.values());
  }

  synchronized int size() {
    return entries.size();
  }

  synchronized boolean isEmpty() {
    return entries.isEmpty();
  }

  /** Whether the server is known not to answer reports carried by claims. */
  synchronized boolean separateOnly() {
    return separateOnly;
  }

  private SpooledReport load(Entry e) {
    if (e.report != null) {
      return e.report;
    }
    try {
      return spool.read(e.spoolFile);
    } catch (IOException ex) {
      LOG.warning(ex.getMessage() + "; moved aside as .bad");
      spool.quarantine(e.spoolFile);
      entries.remove(e.ref.leaseToken());
      return null;
    }
  }

  private void retryLater(Entry e, String why) {
    if (e.spoolFile != null) {
      e.report = null; // re-read from disk when retrying: outputs can be large
    }
    Duration d = e.backoff.next();
    e.notBefore = clock.instant().plus(d);
    if (why != null) {
      LOG.warning(e.describe() + ": " + why + "; next attempt in " + d.toMillis() + " ms");
    }
  }

  /** The server refused the result itself: it leaves the outbox but stays on disk, moved aside. */
  private void reject(Entry e, String message) {
    entries.remove(e.ref.leaseToken());
    if (e.spoolFile != null) {
      spool.reject(e.spoolFile);
    }
    if (message != null) {
      LOG.severe(e.describe() + ": " + message + "; kept aside in the spool as .rejected");
    }
  }

  private void finish(Entry e, String message, boolean recorded) {
    entries.remove(e.ref.leaseToken());
    if (e.spoolFile != null) {
      spool.delete(e.spoolFile);
    }
    if (message != null) {
      if (recorded) {
        LOG.info(e.describe() + ": " + message);
      } else {
        LOG.warning(e.describe() + ": " + message);
      }
    }
  }

  private static long size(SpooledReport r) {
    String out = r.complete() != null ? r.complete().output() : r.fail().error();
    String tail = r.complete() != null ? r.complete().logTail() : r.fail().logTail();
    return 512 + (out == null ? 0 : out.length()) + (tail == null ? 0 : tail.length());
  }
}
