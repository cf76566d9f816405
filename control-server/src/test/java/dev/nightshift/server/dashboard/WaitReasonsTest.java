package dev.nightshift.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.JobState;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.dashboard.WaitReasons.Job;
import dev.nightshift.server.dashboard.WaitReasons.Kind;
import dev.nightshift.server.dashboard.WaitReasons.PendingSample;
import dev.nightshift.server.dashboard.WaitReasons.Reason;
import dev.nightshift.server.dashboard.WaitReasons.Worker;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each "why is it waiting" reason from constructed facts. */
class WaitReasonsTest {
  static final Instant NOW = Instant.parse("2026-11-20T22:00:00Z");
  static final PendingSample DUE = new PendingSample(10, 10, null, true);

  static Job job(JobState state, Map<String, String> labels, Integer maxParallel, int pending, int leased) {
    return new Job(7, "thumbnails", state, 0, labels, maxParallel, pending, leased);
  }

  static Job running() {
    return job(JobState.RUNNING, Map.of(), null, 10, 0);
  }

  static Worker worker(String name, WorkerState state, String reason, int free) {
    return new Worker(name, state, reason, Map.of("os", "linux"), free, false, NOW.minusSeconds(5));
  }

  static List<Kind> kinds(List<Reason> reasons) {
    return reasons.stream().map(Reason::kind).toList();
  }

  static String text(List<Reason> reasons) {
    return String.join(" ", reasons.stream().map(Reason::text).toList());
  }

  @Test
  void nothingPendingOrFinishedNeedsNoReason() {
    List<Worker> w = List.of(worker("pc1", WorkerState.IDLE, "waiting", 2));
    assertThat(WaitReasons.forJob(job(JobState.RUNNING, Map.of(), null, 0, 3), w, List.of(), DUE, NOW)).isEmpty();
    assertThat(WaitReasons.forJob(job(JobState.CANCELLED, Map.of(), null, 5, 0), w, List.of(), DUE, NOW)).isEmpty();
  }

  @Test
  void pausedSaysSoAndNothingElse() {
    List<Reason> r =
        WaitReasons.forJob(job(JobState.PAUSED, Map.of(), null, 4, 0), List.of(), List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.PAUSED);
    assertThat(text(r)).contains("Paused by an admin").contains("4 batches");
    assertThat(r.get(0).blocking()).isTrue();
  }

  @Test
  void noWorkersEnrolledOrAllOffline() {
    assertThat(text(WaitReasons.forJob(running(), List.of(), List.of(), DUE, NOW))).contains("No workers are enrolled");
    List<Worker> offline =
        List.of(
            new Worker("pc1", WorkerState.OFFLINE, "no heartbeat", Map.of(), 0, false, NOW.minusSeconds(600)),
            new Worker("pc2", WorkerState.DISABLED, "revoked", Map.of(), 0, false, null));
    List<Reason> r = WaitReasons.forJob(running(), offline, List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.NO_WORKERS);
    assertThat(text(r)).contains("No workers online").contains("all 2").contains("last heartbeat 10 min ago");
  }

  @Test
  void labelsNoOnlineWorkerHas() {
    List<Reason> r =
        WaitReasons.forJob(
            job(JobState.QUEUED, Map.of("os", "windows"), null, 3, 0),
            List.of(worker("pc1", WorkerState.IDLE, "waiting", 2),
                new Worker("win1", WorkerState.OFFLINE, "gone", Map.of("os", "windows"), 1, false, NOW)),
            List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.LABELS_UNMATCHED);
    assertThat(text(r)).contains("requires [os=windows]").contains("pc1 [os=linux]").doesNotContain("win1");
  }

  @Test
  void referenceDataThatNoWorkerHasFreshEnough() {
    Job needsFresh =
        new Job(7, "pricing", JobState.QUEUED, 0, Map.of(), null, 4, 0,
            new dev.nightshift.server.batches.Freshness(300, null));
    Worker behind =
        new Worker("pc1", WorkerState.IDLE, "waiting", Map.of(), 2, false, NOW,
            new dev.nightshift.protocol.DataState(true, 7300L, "0-1-5", null));
    Worker stopped =
        new Worker("pc2", WorkerState.IDLE, "waiting", Map.of(), 2, false, NOW,
            new dev.nightshift.protocol.DataState(false, null, "0-1-9", "replication stopped"));
    Worker none = new Worker("pc3", WorkerState.IDLE, "waiting", Map.of(), 2, false, NOW);
    List<Reason> r = WaitReasons.forJob(needsFresh, List.of(behind, stopped, none), List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.DATA_STALE);
    assertThat(r.get(0).blocking()).isTrue();
    assertThat(text(r))
        .contains("the job needs a running replica at most 5 min behind")
        .contains("pc1: replica 2 h behind")
        .contains("pc2: replication stopped")
        .contains("pc3: no reference data");

    Worker fresh =
        new Worker("pc4", WorkerState.IDLE, "waiting", Map.of(), 2, false, NOW,
            new dev.nightshift.protocol.DataState(true, 1L, "0-1-9", null));
    assertThat(kinds(WaitReasons.forJob(needsFresh, List.of(behind, fresh), List.of(), DUE, NOW)))
        .containsExactly(Kind.CLAIMABLE);
  }

  @Test
  void workersThatFitButDoNotClaimShowTheirOwnReasons() {
    Worker drained = new Worker("pc3", WorkerState.IDLE, "waiting", Map.of(), 2, true, NOW);
    List<Reason> r =
        WaitReasons.forJob(
            running(),
            List.of(
                worker("pc1", WorkerState.OWNER_ACTIVE, "keyboard used 20 s ago", 2),
                worker("pc2", WorkerState.OUTSIDE_WINDOW, "runs 20:00-06:00", 2),
                drained),
            List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.NOT_CLAIMING);
    assertThat(text(r))
        .contains("pc1: OWNER_ACTIVE (keyboard used 20 s ago)")
        .contains("pc2: OUTSIDE_WINDOW (runs 20:00-06:00)")
        .contains("pc3: drained by an admin");
  }

  @Test
  void theOnlyFittingWorkerNotTakingWorkIsSaidSoNotTheOpposite() {
    List<Reason> r =
        WaitReasons.forJob(
            job(JobState.QUEUED, Map.of(), null, 4, 0),
            List.of(worker("pc1", WorkerState.PAUSED_BY_OWNER, "owner paused it", 2)), List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.NOT_CLAIMING);
    assertThat(text(r)).startsWith("The only worker that fits is not taking work: pc1: PAUSED_BY_OWNER");
  }

  @Test
  void maxParallelReached() {
    List<Reason> r =
        WaitReasons.forJob(
            job(JobState.RUNNING, Map.of(), 2, 8, 2), List.of(worker("pc1", WorkerState.BUSY, "running", 3)),
            List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.MAX_PARALLEL);
    assertThat(text(r)).contains("maxParallel reached: 2 of at most 2");
  }

  @Test
  void allSlotsBusyAndHigherPriorityJobsAhead() {
    Job mine = job(JobState.QUEUED, Map.of(), null, 10, 0);
    Job urgent = new Job(3, "urgent", JobState.RUNNING, 5, Map.of(), null, 40, 4);
    Job later = new Job(9, "later", JobState.RUNNING, 0, Map.of(), null, 40, 0);
    Job older = new Job(4, "older-same-priority", JobState.RUNNING, 0, Map.of(), null, 400, 2);
    Job unfit = new Job(2, "gpu", JobState.RUNNING, 9, Map.of("gpu", "yes"), null, 40, 0);
    List<Reason> r =
        WaitReasons.forJob(
            mine, List.of(worker("pc1", WorkerState.BUSY, "running 2 of 2", 0),
                worker("pc2", WorkerState.PAUSED_BY_OWNER, "owner paused it", 2)),
            List.of(urgent, older, later, unfit, mine), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.SLOTS_BUSY, Kind.HIGHER_PRIORITY);
    assertThat(text(r))
        .contains("All slots are in use on the 1 worker(s)")
        .contains("not taking work: pc2: PAUSED_BY_OWNER (owner paused it)")
        .contains("#3 urgent (priority 5)")
        .doesNotContain("later")
        .as("fair share: an older job of the same priority shares the slots, it is not ahead")
        .doesNotContain("older-same-priority")
        .doesNotContain("gpu");
  }

  @Test
  void retryBackOffNamesTheNextRetry() {
    PendingSample waiting = new PendingSample(2, 0, NOW.plusSeconds(40), true);
    List<Reason> r =
        WaitReasons.forJob(
            job(JobState.RUNNING, Map.of(), null, 2, 0), List.of(worker("pc1", WorkerState.IDLE, "waiting", 2)),
            List.of(), waiting, NOW);
    assertThat(kinds(r)).containsExactly(Kind.RETRY_BACKOFF);
    assertThat(text(r)).contains("All 2 batches pending are in retry back-off").contains("in 40 s");
    PendingSample partial = new PendingSample(200, 0, NOW.plusSeconds(5), false);
    assertThat(text(WaitReasons.forJob(running(), List.of(worker("pc1", WorkerState.IDLE, "w", 1)), List.of(),
        partial, NOW))).contains("The first 200 batches");
  }

  @Test
  void claimableWhenNothingStandsInTheWay() {
    List<Reason> r =
        WaitReasons.forJob(running(), List.of(worker("pc1", WorkerState.IDLE, "waiting", 2)), List.of(), DUE, NOW);
    assertThat(kinds(r)).containsExactly(Kind.CLAIMABLE);
    assertThat(text(r)).contains("2 free slot(s) on 1 worker(s)");
    assertThat(r.get(0).blocking()).isFalse();
  }
}
