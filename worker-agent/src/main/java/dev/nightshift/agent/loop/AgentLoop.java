package dev.nightshift.agent.loop;

import dev.nightshift.agent.config.Defaults;
import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.idle.IdlePolicy;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.sync.Prefetcher;
import dev.nightshift.agent.system.AtomicFiles;
import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReleaseRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * The agent's work loop: enroll, then claim as many batches as there are free slots when the idle policy allows
 * and the server has not ordered a drain; run each on its own thread and spool its result into the
 * {@link ReportOutbox}, whose due results ride on the next claim (one round trip reports what ended and claims the
 * next batches). A batch's slot thread, once the result is in the outbox, claims at once itself (no wait) for the
 * slots free to it, carrying the due reports (a slot is free again only once the server has its batch's report, or
 * in a claim that carries that report: {@link Slots#reserve}); the loop thread keeps the long-poll claim for when
 * nothing is there. When the slot thread may not claim, a result that ends while the loop is parked in a long-poll
 * claim goes out at once in a report-only claim from the finishing thread. A separate heartbeat renews every held lease and carries the server's
 * instructions. Each {@link #tick()} returns what it did; the loop never dies.
 */
public final class AgentLoop {
  private static final Logger LOG = Logger.getLogger(AgentLoop.class.getName());

  /**
   * What the loop works with.
   *
   * @param prefetcher checks out the release a heartbeat reply names ahead of its first batch; null without code
   *     distribution
   */
  public record Parts(
      AgentProtocol protocol,
      Enrollment enrollment,
      ScriptRunner runner,
      Spool spool,
      IdlePolicy idlePolicy,
      Prefetcher prefetcher) {

    /** Parts without code prefetch: every lease still runs where the runner's workspace provider says. */
    public Parts(
        AgentProtocol protocol, Enrollment enrollment, ScriptRunner runner, Spool spool, IdlePolicy idlePolicy) {
      this(protocol, enrollment, runner, spool, idlePolicy, null);
    }
  }

  private final AgentProtocol protocol;
  private final Enrollment enrollment;
  private final ReportSender sender;
  private final Prefetcher prefetcher; // null without code distribution
  private final LoopConfig config;
  private final Clock clock;
  private final Random random;
  private final Backoff errorBackoff;
  private final ErrorStreak errors = new ErrorStreak();
  private final Slots slots;
  private final ReportOutbox outbox;
  private final Instructions instructions;
  private final IdleCheck idleCheck;
  private final BatchRunner batches;
  private final Suspensions suspensions;
  private final Heartbeats heartbeats;
  private final dev.nightshift.agent.runner.ScriptRunner runner;
  private final Wakeup wakeup = new Wakeup();
  /** Guards {@link #parked}: whether the loop's claim in flight may be held open by the server. */
  private final Object claimState = new Object();
  private boolean parked;
  private volatile boolean lastClaimWaited;
  /** A slot thread's claim is in flight ({@link #claimFromSlot}): at most one is. */
  private final AtomicBoolean slotClaiming = new AtomicBoolean();
  /** A batch ended since the slot thread's claim in flight took the due reports: it claims again. */
  private final AtomicBoolean slotClaimAgain = new AtomicBoolean();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private volatile Path statusFile;
  private volatile Duration pause = Duration.ZERO;
  private volatile Thread loopThread;
  private final java.util.concurrent.CountDownLatch loopEnded = new java.util.concurrent.CountDownLatch(1);
  private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
  private boolean neededTokenLogged;
  /** Self-update, when a launcher started this agent; null otherwise. */
  private volatile dev.nightshift.agent.update.SelfUpdate selfUpdate;
  /** The staged agent version this agent restarts into once its batches finish; null: none. */
  private volatile String updatingTo;
  private volatile Instant updatingSince;
  private volatile boolean restartRequested;

  public AgentLoop(Parts parts, LoopConfig config, Clock clock, Random random) {
    this.protocol = parts.protocol();
    this.enrollment = parts.enrollment();
    this.idleCheck = new IdleCheck(parts.idlePolicy());
    this.prefetcher = parts.prefetcher();
    this.runner = parts.runner();
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.errorBackoff = new Backoff(config.backoffBase(), config.backoffCap(), random);
    this.outbox = new ReportOutbox(parts.spool(), clock, this::newReportBackoff, Defaults.CLAIM_REPORT_BYTES);
    this.slots = new Slots(config.slots(), outbox::tokens);
    this.instructions = new Instructions(new Following());
    this.suspensions = new Suspensions(slots, config.vacateAfter());
    this.batches = new BatchRunner(parts.runner(), slots, parts.spool(), outbox, clock, new AfterBatch());
    this.sender = new ReportSender(protocol, enrollment, outbox, instructions, this::release, stopping::get);
    this.heartbeats = new Heartbeats(protocol, enrollment, instructions, config, new Described());
  }

  // ---------------------------------------------------------------- startup

  /**
   * Takes up what a previous run left: every spooled report is held again (and named in heartbeats) and is sent
   * by the next tick; stdout files of runs that never finished are deleted (their leases expire on the server).
   */
  public void restore() {
    outbox.restoreSpooled();
    batches.cleanUpAfterPreviousRun(Defaults.ATTEMPT_LOGS_KEPT);
  }

  // ---------------------------------------------------------------- the tick

  /**
   * One step: enroll if needed, then one claim carrying every due report and asking for the free slots (none while
   * the idle policy vetoes, the server drains or every slot runs); no claim when there is neither. Never throws.
   */
  public TickOutcome tick() {
    Identity id = null;
    try {
      if (stopping.get()) {
        return TickOutcome.STOPPED;
      }
      id = enrollment.current().orElse(null);
      if (id == null) {
        if (enrollment.ensureEnrolled(protocol) == Enrollment.Status.NEEDS_TOKEN) {
          if (!neededTokenLogged) {
            LOG.warning("agent token refused: enroll again with --enrollment-token (or NIGHTSHIFT_ENROLLMENT_TOKEN)");
            neededTokenLogged = true;
          }
          return backedOff(TickOutcome.BACKED_OFF);
        }
        id = enrollment.current().orElse(null);
        if (enrollment.heartbeatMillis() > 0) {
          heartbeats.every(enrollment.heartbeatMillis());
        }
      }
      sender.sendSeparately(id);
      IdleVerdict verdict = checkIdle(false);
      TickOutcome notClaiming = null;
      if (instructions.isDraining() || updatingTo != null) {
        notClaiming = TickOutcome.DRAINING;
      } else if (!verdict.run()) {
        notClaiming = TickOutcome.IDLE_VETO;
      }
      return claim(notClaiming);
    } catch (ProtocolException e) {
      if (e.isUnauthorized()) {
        enrollment.refused(id);
        return backedOff(TickOutcome.BACKED_OFF);
      }
      errors.failed("server call failed: " + e.getMessage(), null);
      TickOutcome outcome = backedOff(e.isTransient() ? TickOutcome.BACKED_OFF : TickOutcome.ERROR);
      if (e.retryAfter() != null) {
        pause = e.retryAfter(); // the server knows best when to come back (it spreads its agents out itself)
      }
      return outcome;
    } catch (Throwable t) {
      errors.failed("unexpected error in the agent loop: " + t, t);
      return backedOff(TickOutcome.ERROR);
    }
  }

  /**
   * The claim of a tick: takes the due reports, then reserves the slots free for a claim carrying them (none when
   * {@code notClaiming} says why not); carries the reports, starts the leases, gives the reservation back.
   */
  private TickOutcome claim(TickOutcome notClaiming) {
    ReportOutbox.Batch reports;
    long wait;
    int free = 0;
    synchronized (claimState) {
      reports = stopping.get() ? ReportOutbox.Batch.EMPTY : outbox.takeDue();
      if (notClaiming == null) {
        free = slots.reserve(reports);
        if (free <= 0) {
          notClaiming = TickOutcome.BUSY;
        }
      }
      if (notClaiming != null && reports.isEmpty()) {
        return rest(notClaiming, config.idleRecheck()); // reserved none
      }
      // A claim carrying reports is answered at once; only one without may be parked by the server.
      wait = notClaiming != null || !reports.isEmpty() ? 0 : claimWait().toMillis();
      parked = wait > 0;
    }
    try {
      return claim(reports, free, wait, notClaiming);
    } finally {
      slots.unreserve(free); // after the leases started and the answers to the reports were applied
    }
  }

  private TickOutcome claim(ReportOutbox.Batch reports, int free, long wait, TickOutcome notClaiming) {
    Instant asked = clock.instant();
    ClaimResponse response;
    try {
      response = protocol.claim(
          new ClaimRequest(free, wait, reports.completedOrNull(), reports.failedOrNull()));
    } catch (RuntimeException e) {
      outbox.failed(reports, e);
      throw e;
    } finally {
      synchronized (claimState) {
        parked = false;
      }
    }
    lastClaimWaited = wait > 0;
    recovered();
    try {
      return claimed(response, notClaiming, wait, asked, free);
    } finally {
      outbox.answered(reports, response == null ? null : response.reports()); // after the leases started
      if (outbox.hasSeparateDue()) {
        wakeup.wake(); // the next tick sends them with separate calls
      }
    }
  }

  /** Starts the leases a claim returned (or gives them back) and decides how long to rest. */
  private TickOutcome claimed(
      ClaimResponse response, TickOutcome notClaiming, long waited, Instant asked, int reserved) {
    if (response != null) {
      instructions.releaseNamed(response.release());
    }
    List<Lease> leases = leasesOf(response);
    if (notClaiming != null) {
      if (!leases.isEmpty()) {
        release(leases.stream().map(Lease::ref).collect(Collectors.toList()), "more leases than free slots");
      }
      return rest(notClaiming, config.idleRecheck());
    }
    if (leases.isEmpty()) {
      // An answer without waiting (the claim carried reports) says nothing about later work: ask again, parked.
      return rest(TickOutcome.NO_WORK, waited > 0 ? config.noWorkPause() : Duration.ZERO);
    }
    if (Duration.between(asked, clock.instant()).compareTo(config.idleRecheck()) >= 0) {
      IdleVerdict now = checkIdle(false); // the claim waited long: the owner may be back meanwhile
      if (!now.run()) {
        release(leases.stream().map(Lease::ref).collect(Collectors.toList()), "idle policy: " + now.reason());
        return rest(TickOutcome.IDLE_VETO, config.idleRecheck());
      }
    }
    startLeases(leases, reserved);
    return rest(TickOutcome.CLAIMED, Duration.ZERO);
  }

  private static List<Lease> leasesOf(ClaimResponse response) {
    return response == null || response.leases() == null ? List.of() : response.leases();
  }

  /**
   * Starts at most {@code reserved} of a claim's leases (the slots its claim reserved, so concurrent claims never
   * start more batches than there are slots) and gives the rest back; returns how many started.
   */
  private int startLeases(List<Lease> leases, int reserved) {
    List<LeaseRef> extra = new ArrayList<>();
    int started = 0;
    for (Lease lease : leases) {
      if (stopping.get() || started >= reserved || slots.free() <= 0) {
        extra.add(lease.ref());
        continue;
      }
      try {
        batches.start(lease);
        started++;
      } catch (RuntimeException e) { // shutting down (the slot threads are gone) or no slot after all
        LOG.fine(() -> "cannot start batch " + lease.batchId() + ": " + e);
        extra.add(lease.ref());
      }
    }
    if (!extra.isEmpty()) {
      release(extra, stopping.get() ? "agent shutting down" : "more leases than free slots");
    }
    return started;
  }

  /** How long the loop means to rest after the last tick. */
  public Duration pause() {
    return pause;
  }

  private TickOutcome rest(TickOutcome outcome, Duration d) {
    pause = d;
    return outcome;
  }

  private TickOutcome backedOff(TickOutcome outcome) {
    pause = errorBackoff.next();
    return outcome;
  }

  private void recovered() {
    errors.recovered();
    errorBackoff.reset();
  }

  /**
   * The claim's long-poll wait, shortened so a report retry that falls due is not held up, and to the idle
   * re-check interval while batches run (their suspension must not wait for a long poll).
   */
  private Duration claimWait() {
    Duration wait = config.claimWait();
    if (slots.running() > 0 && config.idleRecheck().compareTo(wait) < 0) {
      wait = config.idleRecheck();
    }
    return outbox.untilDue(wait);
  }

  // ---------------------------------------------------------------- idle policy

  /**
   * Asks the idle policy and applies the verdict to running batches: anything but RUN suspends their process
   * trees, RUN resumes them, and a batch suspended for {@code vacateAfter} is vacated (killed, reported as VACATED,
   * requeued by the server at once). Writes the status file. Called every {@code idleRecheck} by the heartbeat
   * thread (also while the loop long-polls) and by every tick. Never throws.
   */
  public IdleVerdict checkIdle() {
    return checkIdle(true);
  }

  /**
   * @param writeStatus rewrite the status file even when the verdict is unchanged: the periodic re-check does;
   *     a tick does not, as rewriting it for every batch would cost more than the batch (`status` reads a file at
   *     most one re-check old)
   */
  private IdleVerdict checkIdle(boolean writeStatus) {
    return idleCheck.check((v, changed) -> applyVerdict(v, changed || writeStatus));
  }

  /** Applies a verdict to the running batches; rewrites the status file when {@code writeStatus}. */
  private void applyVerdict(IdleVerdict v, boolean writeStatus) {
    try {
      if (!stopping.get()) {
        suspensions.apply(v);
      }
    } catch (Throwable t) {
      LOG.log(Level.WARNING, "cannot suspend, resume or vacate a batch", t);
    }
    if (writeStatus) {
      writeStatus();
    }
  }

  /** How many running batches are suspended now. */
  public int suspendedCount() {
    return slots.suspended();
  }

  /** The verdict of the last idle check; null before the first. */
  public IdleVerdict lastVerdict() {
    return idleCheck.last();
  }

  /** Makes every idle check rewrite {@code file} (atomically) with the verdict, readings and batches. */
  public void writeStatusTo(Path file) {
    this.statusFile = file;
  }

  private void writeStatus() {
    Path file = statusFile;
    if (file == null || stopping.get()) {
      return;
    }
    try {
      status().write(file);
    } catch (IOException | RuntimeException e) {
      LOG.fine(() -> "cannot write the status file " + file + ": " + e.getMessage());
    }
  }

  /** The status as {@code nightshift-agent status} shows it: verdict, readings, state sent, batches held. */
  public AgentStatus status() {
    IdleVerdict v = idleCheck.last();
    HeartbeatRequest hb = heartbeatRequest();
    List<AgentStatus.Batch> batches = new ArrayList<>(slots.snapshot());
    for (ReportOutbox.Entry e : outbox.snapshot()) {
      if (!slots.isHeld(e.ref.leaseToken())) {
        batches.add(new AgentStatus.Batch(e.ref.batchId(), e.attempt, AgentStatus.Phase.REPORTING, null));
      }
    }
    batches.sort(java.util.Comparator.comparingLong(AgentStatus.Batch::batchId));
    return new AgentStatus(
        ProcessHandle.current().pid(), clock.instant(), v == null ? null : v.word(), v == null ? null : v.reason(),
        v == null ? Map.of() : v.readings(), hb.state().name(), hb.reason(), config.slots(),
        config.vacateAfter().toSeconds(), batches);
  }

  /** What a batch's end asks of the loop. */
  private final class AfterBatch implements BatchRunner.Then {
    @Override
    public void reportReady() {
      reportFinished();
    }

    @Override
    public void wake() {
      wakeup.wake();
    }
  }

  // ---------------------------------------------------------------- reports

  private Backoff newReportBackoff() {
    return new Backoff(config.backoffBase(), config.backoffCap(), random);
  }

  /**
   * A result has just entered the outbox. When the loop is parked in a long-poll claim, which may last a while, the
   * result goes out at once from this thread in a report-only claim (no free slots asked, so the two claims cannot
   * lease more batches than there are slots); otherwise the loop's next claim, a moment away, carries it.
   */
  private void reportFinished() {
    if (claimFromSlot()) {
      return;
    }
    boolean flushNow;
    synchronized (claimState) {
      flushNow = parked;
    }
    if (outbox.separateOnly()) {
      sender.sendSeparately(enrollment.current().orElse(null));
    } else if (flushNow && !stopping.get()) {
      sender.sendReportsOnly();
    }
    wakeup.wake();
  }

  /**
   * A batch has just ended on this slot thread and its result is in the outbox: unless the agent stops, the server
   * drains or the idle verdict (one at most {@link #SLOT_CLAIM_VERDICT_AGE} old) says not now, a claim goes out at
   * once, carrying the due reports, for the slots free to such a claim (its own among them: {@link Slots#reserve}),
   * without waiting, and starts what it gets; the loop thread keeps the long poll for when nothing is there.
   *
   * <p>At most one such claim is in flight: a batch that ends while another slot thread's claim is out leaves its
   * result to that thread, which claims again as soon as its answer is in, carrying every report that came meanwhile
   * and asking for every slot freed meanwhile. So a busy agent sends about one claim per round trip, however many
   * slots it has, not one per batch, and the server leases in larger groups. A claim that gets fewer leases than it
   * asked for, or fails, wakes the loop (which re-parks, or backs off). Returns false when it did not claim (no slot
   * free to it: its reports are put back); the caller then reports the old way.
   */
  private boolean claimFromSlot() {
    if (!slotClaimEligible()) {
      return false;
    }
    slotClaimAgain.set(true);
    boolean claimed = true;
    // Whoever holds slotClaiming claims until no batch ended during its claim; the re-check after letting go closes
    // the window where a batch ends just after the last round and just before the let-go.
    while (slotClaimAgain.get() && slotClaiming.compareAndSet(false, true)) {
      try {
        while (claimed && slotClaimAgain.getAndSet(false)) {
          claimed = slotClaimEligible() && slotClaimOnce();
        }
      } finally {
        slotClaiming.set(false);
      }
      if (!claimed) {
        return false; // the caller reports the old way; it sends every due report, those of later batches too
      }
    }
    return true;
  }

  private boolean slotClaimEligible() {
    return config.slotClaims() && !stopping.get() && !instructions.isDraining() && updatingTo == null
        && !outbox.separateOnly() && enrollment.current().isPresent()
        && idleCheck.recent(SLOT_CLAIM_VERDICT_AGE, this::applyVerdict).run();
  }

  /** One claim from a slot thread (see {@link #claimFromSlot}); false when no slot was free to it. */
  private boolean slotClaimOnce() {
    Identity id = enrollment.current().orElse(null);
    if (id == null) {
      return false;
    }
    ReportOutbox.Batch reports = outbox.takeDue();
    int free = slots.reserve(reports);
    try {
      if (free <= 0) {
        outbox.putBack(reports);
        return false;
      }
      ClaimResponse response;
      try {
        response = protocol.claim(new ClaimRequest(free, 0, reports.completedOrNull(), reports.failedOrNull()));
      } catch (RuntimeException e) {
        outbox.failed(reports, e);
        if (e instanceof ProtocolException pe && pe.isUnauthorized()) {
          enrollment.refused(id);
        }
        LOG.fine(() -> "claim from a slot thread failed (" + e.getMessage() + "); the loop takes over");
        slotClaimAgain.set(false); // the loop carries what ended meanwhile, with its back-off, not this thread at once
        wakeup.wake();
        return true;
      }
      int started;
      try {
        if (response != null) {
          instructions.releaseNamed(response.release());
        }
        started = startLeases(leasesOf(response), free);
      } finally {
        outbox.answered(reports, response == null ? null : response.reports()); // after the leases started
      }
      if (started < free || outbox.hasSeparateDue()) {
        wakeup.wake(); // the loop parks a claim for the slots still free, or sends the separate reports
      }
      return true;
    } finally {
      slots.unreserve(free);
    }
  }

  /** How old an idle verdict a slot thread's claim may act on instead of asking the policy again. */
  static final Duration SLOT_CLAIM_VERDICT_AGE = Duration.ofSeconds(1);

  /** When the earliest scheduled report retry falls due; empty when no report waits for a retry. */
  public java.util.Optional<Instant> nextReportRetry() {
    return outbox.nextRetry();
  }

  /** How many finished results wait for the server's final answer. */
  public int pendingReports() {
    return outbox.size();
  }

  // ---------------------------------------------------------------- heartbeat and instructions

  /** Sends one heartbeat naming every held lease and acts on the reply's instructions. Never throws. */
  public void heartbeatOnce() {
    heartbeats.beatOnce();
  }

  /** The heartbeat as it would be sent now. */
  public HeartbeatRequest heartbeatRequest() {
    return heartbeats.request();
  }

  // ---------------------------------------------------------------- self-update

  /**
   * Follows the agent builds heartbeat replies offer (only when a launcher started this agent): once one is staged
   * the loop claims nothing more, lets its batches finish (for {@link dev.nightshift.agent.config.Defaults#UPDATE_FINISH_LIMIT}
   * at most) and ends, and {@link #restartRequested()} says so.
   */
  public void useSelfUpdate(dev.nightshift.agent.update.SelfUpdate update) {
    update.onStaged(
        version -> {
          updatingSince = clock.instant();
          updatingTo = version;
          LOG.info("restarting into agent " + version + " once " + runningCount() + " running batch(es) finish;"
              + " claiming nothing meanwhile");
          wakeup.wake();
        });
    this.selfUpdate = update;
  }

  /** The loop ended to restart into a staged agent version. */
  public boolean restartRequested() {
    return restartRequested;
  }

  /** An update is staged and nothing runs or waits to be reported any more (or the wait is over). */
  private boolean readyToRestart() {
    if (updatingTo == null) {
      return false;
    }
    if (isIdle() && slots.reserved() == 0) {
      return true;
    }
    if (clock.instant().isAfter(updatingSince.plus(Defaults.UPDATE_FINISH_LIMIT))) {
      LOG.warning("batches still running " + Defaults.UPDATE_FINISH_LIMIT.toMinutes() + " min after agent "
          + updatingTo + " was staged: restarting anyway, their leases are given back");
      return true;
    }
    return false;
  }

  /** What heartbeats say about this agent. */
  private final class Described implements Heartbeats.Agent {
    @Override
    public String agentVersion() {
      return dev.nightshift.agent.system.AgentVersion.current();
    }

    @Override
    public String agentRefused() {
      var u = selfUpdate;
      return u == null ? null : u.refused();
    }

    @Override
    public String updatingTo() {
      return updatingTo;
    }

    @Override
    public dev.nightshift.protocol.DataState data() {
      var data = runner.referenceData();
      return data == null ? null : data.current();
    }

    @Override
    public boolean stopping() {
      return stopping.get();
    }

    @Override
    public IdleVerdict lastVerdict() {
      return idleCheck.last();
    }

    @Override
    public int running() {
      return slots.running();
    }

    @Override
    public int suspended() {
      return slots.suspended();
    }

    @Override
    public int free() {
      return slots.free();
    }

    @Override
    public List<LeaseRef> heldLeases() {
      return AgentLoop.this.heldLeases();
    }

    @Override
    public String currentCommit() {
      return prefetcher == null ? null : prefetcher.currentCommit();
    }

    @Override
    public void recheckIdle() {
      checkIdle();
    }
  }

  /** What the server's instructions do to this agent. */
  private final class Following implements Instructions.Effects {
    @Override
    public void cancelLease(Long batchId, String leaseToken, String reason) {
      java.util.Optional<HeldLease> running = slots.find(leaseToken, batchId);
      if (running.isPresent()) {
        HeldLease h = running.get();
        h.cancelReason = reason; // a result spooled meanwhile is dropped by its slot thread
        LOG.info(h.describe() + ": " + reason + "; killing its process tree");
        h.run.cancel(reason);
        return;
      }
      java.util.Optional<LeaseRef> waiting = outbox.find(leaseToken, batchId);
      if (waiting.isPresent() && outbox.drop(waiting.get(), reason)) {
        wakeup.wake();
      } else {
        LOG.fine(() -> "CANCEL_LEASE for batch " + batchId + ": not held");
      }
    }

    @Override
    public boolean prefetch(String commit, String version) {
      if (prefetcher == null || stopping.get()) {
        return false;
      }
      prefetcher.offer(commit, version); // in the background
      return true;
    }

    @Override
    public void heartbeatEvery(long millis) {
      heartbeats.every(millis);
    }

    @Override
    public void agentOffered(dev.nightshift.protocol.AgentOffer offer) {
      var u = selfUpdate;
      if (u != null && !stopping.get()) {
        u.heartbeatAnswered(offer);
      }
    }

    @Override
    public void wake() {
      wakeup.wake();
    }
  }

  // ---------------------------------------------------------------- state

  public int freeSlots() {
    return slots.free();
  }

  public int runningCount() {
    return slots.running();
  }

  /** Every lease held: running, and finished but not yet answered. */
  public List<LeaseRef> heldLeases() {
    return java.util.stream.Stream.concat(outbox.refs().stream(), slots.refs().stream())
        .distinct()
        .sorted(java.util.Comparator.comparingLong(LeaseRef::batchId))
        .collect(Collectors.toList());
  }

  /** The process of the running batch, for tests and diagnostics. */
  public java.util.Optional<ProcessHandle> processOf(long batchId) {
    return slots.find(null, batchId).filter(h -> h.run != null).flatMap(h -> h.run.process());
  }

  public boolean isDraining() {
    return instructions.isDraining();
  }

  /** Nothing runs and no result waits for the server's answer. */
  public boolean isIdle() {
    return slots.running() == 0 && outbox.isEmpty();
  }

  // ---------------------------------------------------------------- running modes

  /** Starts the heartbeat thread; the first beat goes out at once. */
  public void startHeartbeat() {
    heartbeats.start();
  }

  /** The daemon: ticks until {@link #shutdown}. */
  public void runUntilStopped() {
    loopThread = Thread.currentThread();
    try {
      startHeartbeat();
      while (!stopping.get()) {
        TickOutcome outcome = tick();
        if (readyToRestart()) {
          restartRequested = true;
          LOG.info("restarting into agent " + updatingTo);
          break;
        }
        LOG.finest(() -> "tick: " + outcome + ", resting " + pause.toMillis() + " ms");
        waitFor(pause);
      }
    } finally {
      loopEnded.countDown();
    }
  }

  /**
   * Cron mode: works while there is work and returns 0 once a short claim finds none, nothing runs and nothing
   * waits to be reported; 0 at once when the idle policy says not now; 1 when the server keeps failing.
   */
  public int runOnce() {
    loopThread = Thread.currentThread();
    try {
      return onceLoop();
    } finally {
      loopEnded.countDown();
    }
  }

  private int onceLoop() {
    IdleVerdict v = checkIdle();
    if (!v.run()) {
      LOG.info("not running now: " + v.reason());
      return 0;
    }
    startHeartbeat();
    int errors = 0;
    while (!stopping.get()) {
      TickOutcome outcome = tick();
      // the tick gave its reservation back: one held now is a slot thread's claim in flight
      boolean nothingHeld = isIdle() && slots.reserved() == 0;
      switch (outcome) {
        case NO_WORK, IDLE_VETO, DRAINING -> {
          errors = 0;
          // A claim answered at once because it carried reports does not show that no work is left.
          if (nothingHeld && (outcome != TickOutcome.NO_WORK || lastClaimWaited || config.claimWait().isZero())) {
            LOG.info("no more work" + (outcome == TickOutcome.NO_WORK ? "" : " (" + outcome + ")") + "; exiting");
            return 0;
          }
        }
        case BACKED_OFF, ERROR -> {
          errors++;
          if (errors >= config.onceMaxErrors() && runningCount() == 0) {
            LOG.warning("giving up after " + errors + " failed attempts; "
                + (nothingHeld ? "" : outbox.size() + " result(s) stay spooled for the next run; ") + "exiting");
            return 1;
          }
        }
        default -> errors = 0;
      }
      waitFor(pause);
    }
    return 0;
  }

  private void waitFor(Duration d) {
    long millis = outbox.untilDue(d).toMillis();
    if (millis <= 0) {
      return;
    }
    try {
      wakeup.rest(millis, stopping::get);
    } catch (InterruptedException e) {
      if (!stopping.get()) {
        Thread.currentThread().interrupt();
      }
    }
    if (stopping.get()) {
      Thread.interrupted(); // the interrupt was ours
    }
  }

  /**
   * Graceful stop (shutdown hook): stop claiming, kill running scripts, give their leases back, stop the threads.
   * Finished results stay spooled and are re-sent by the next start.
   */
  public void shutdown() {
    if (!stopping.compareAndSet(false, true)) {
      awaitStopped();
      return;
    }
    LOG.info(runningCount() > 0 ? "shutting down: stopping " + runningCount() + " running batch(es)" : "shutting down");
    wakeup.wake();
    Thread loop = loopThread;
    if (loop != null && loop != Thread.currentThread()) {
      loop.interrupt(); // ends a long-polling claim
    }
    List<HeldLease> running = slots.stopAll("agent shutting down");
    if (!running.isEmpty()) {
      release(running.stream().map(h -> h.ref).collect(Collectors.toList()), "agent shutting down");
      running.forEach(h -> slots.ended(h.ref.leaseToken()));
    }
    heartbeats.stop(); // after the final heartbeat, OFFLINE
    if (selfUpdate != null) {
      selfUpdate.shutdown();
    }
    slots.shutdown();
    if (prefetcher != null) {
      prefetcher.shutdown();
    }
    try {
      if (!slots.awaitTermination(Duration.ofSeconds(5))) {
        LOG.warning("some batch threads did not stop within 5 s");
      }
      if (loop != null && loop != Thread.currentThread()) {
        loopEnded.await(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    AtomicFiles.deleteQuietly(statusFile); // 'status' then reports that no agent runs
    LOG.info("stopped");
    stopped.countDown();
  }

  private void awaitStopped() {
    try {
      stopped.await(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void release(List<LeaseRef> refs, String reason) {
    try {
      var r = protocol.release(new ReleaseRequest(refs, reason));
      LOG.info("released " + (r == null ? refs.size() : r.released()) + " lease(s): " + reason);
    } catch (RuntimeException e) {
      LOG.warning("could not release " + refs.size() + " lease(s) (" + e.getMessage()
          + "); the server requeues them when they expire");
    }
  }
}
