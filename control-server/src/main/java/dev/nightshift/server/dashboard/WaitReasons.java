package dev.nightshift.server.dashboard;

import dev.nightshift.protocol.DataState;
import dev.nightshift.protocol.JobState;
import dev.nightshift.server.batches.Freshness;
import dev.nightshift.protocol.WorkerState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Why pending work is not running: HTCondor's most asked question, answered from facts the server already has
 * (the job's counters, each worker's last report, the claim order and a sample of pending batches). Pure: every
 * input is a value, so each reason is unit-tested on constructed inputs.
 */
final class WaitReasons {
  private WaitReasons() {}

  /** What kind of obstacle; the first reasons in a list matter most. */
  enum Kind {
    PAUSED,
    RETRY_BACKOFF,
    MAX_PARALLEL,
    NO_WORKERS,
    LABELS_UNMATCHED,
    DATA_STALE,
    NOT_CLAIMING,
    SLOTS_BUSY,
    HIGHER_PRIORITY,
    CLAIMABLE
  }

  /** One reason, in an operator's words. */
  record Reason(Kind kind, String text) {
    /** Whether this reason means nobody will run the job until something changes (not just "wait your turn"). */
    public boolean blocking() {
      return kind == Kind.PAUSED || kind == Kind.NO_WORKERS || kind == Kind.LABELS_UNMATCHED
          || kind == Kind.DATA_STALE || kind == Kind.NOT_CLAIMING;
    }
  }

  /** The job facts that matter for claiming. */
  record Job(
      long id,
      String name,
      JobState state,
      int priority,
      Map<String, String> labels,
      Integer maxParallel,
      int pending,
      int leased,
      Freshness freshness) {

    Job(long id, String name, JobState state, int priority, Map<String, String> labels, Integer maxParallel,
        int pending, int leased) {
      this(id, name, state, priority, labels, maxParallel, pending, leased, Freshness.ANY);
    }

    boolean fits(Map<String, String> workerLabels) {
      return labels.entrySet().stream().allMatch(e -> e.getValue().equals(workerLabels.get(e.getKey())));
    }

    /** Labels and reference data both, as the claim matches them. */
    boolean fits(Worker w) {
      return fits(w.labels()) && freshness.metBy(w.data());
    }

    boolean claimable() {
      return (state == JobState.QUEUED || state == JobState.RUNNING)
          && pending > 0
          && (maxParallel == null || leased < maxParallel);
    }

    /**
     * Whether claims serve this job before {@code other}: only a higher priority does; jobs of equal priority share
     * the free slots (the engine's fair share).
     */
    boolean ahead(Job other) {
      return priority > other.priority;
    }
  }

  /** A worker as the server sees it: {@code state} is already OFFLINE when its heartbeats stopped. */
  record Worker(
      String name,
      WorkerState state,
      String reason,
      Map<String, String> labels,
      int freeSlots,
      boolean drained,
      Instant lastHeartbeat,
      DataState data) {

    Worker(String name, WorkerState state, String reason, Map<String, String> labels, int freeSlots,
        boolean drained, Instant lastHeartbeat) {
      this(name, state, reason, labels, freeSlots, drained, lastHeartbeat, null);
    }

    boolean online() {
      return state != WorkerState.OFFLINE && state != WorkerState.DISABLED;
    }

    boolean claiming() {
      return !drained && (state == WorkerState.IDLE || state == WorkerState.BUSY);
    }

    String why() {
      if (drained) {
        return name + ": drained by an admin";
      }
      return name + ": " + state + (reason == null || reason.isBlank() ? "" : " (" + reason + ")");
    }
  }

  /**
   * The first pending batches of a job in claim order: how many were read, how many are due now, when the next
   * one is due, and whether the sample holds every pending batch.
   */
  record PendingSample(int size, int due, Instant nextDue, boolean complete) {
    static PendingSample unknown() {
      return new PendingSample(0, 0, null, false);
    }
  }

  /**
   * Why the job's pending batches are not all running. Empty when it has no pending batches or is finished.
   *
   * @param queue the other jobs with pending work (any order), to see which ones the claim order puts first
   */
  static List<Reason> forJob(Job job, List<Worker> workers, List<Job> queue, PendingSample sample, Instant now) {
    List<Reason> reasons = new ArrayList<>();
    if (job.pending() <= 0 || job.state().isTerminal()) {
      return reasons;
    }
    if (job.state() == JobState.PAUSED) {
      reasons.add(
          new Reason(Kind.PAUSED, "Paused by an admin: " + batches(job.pending()) + " wait until it is resumed."));
      return reasons;
    }
    if (sample.size() > 0 && sample.due() == 0 && sample.nextDue() != null && sample.nextDue().isAfter(now)) {
      String which = sample.complete() ? "All " + batches(sample.size()) : "The first " + batches(sample.size());
      reasons.add(
          new Reason(
              Kind.RETRY_BACKOFF,
              which + " pending are in retry back-off after failures: next retry at " + sample.nextDue()
                  + " (in " + seconds(Duration.between(now, sample.nextDue())) + ")."));
    }
    if (job.maxParallel() != null && job.leased() >= job.maxParallel()) {
      reasons.add(
          new Reason(
              Kind.MAX_PARALLEL,
              "maxParallel reached: " + job.leased() + " of at most " + job.maxParallel()
                  + " batches run at once; the others start as these finish."));
    }
    List<Worker> online = workers.stream().filter(Worker::online).toList();
    if (workers.isEmpty()) {
      reasons.add(
          new Reason(Kind.NO_WORKERS, "No workers are enrolled: start an agent with --enrollment-token."));
      return reasons;
    }
    if (online.isEmpty()) {
      Instant last =
          workers.stream().map(Worker::lastHeartbeat).filter(t -> t != null).max(Instant::compareTo).orElse(null);
      reasons.add(
          new Reason(
              Kind.NO_WORKERS,
              "No workers online: all " + workers.size() + " enrolled workers are offline"
                  + (last == null ? "." : " (last heartbeat " + seconds(Duration.between(last, now)) + " ago).")));
      return reasons;
    }
    List<Worker> fitting = online.stream().filter(w -> job.fits(w.labels())).toList();
    if (fitting.isEmpty()) {
      reasons.add(
          new Reason(
              Kind.LABELS_UNMATCHED,
              "Labels unmatched: the job requires " + labels(job.labels()) + " and no online worker has them"
                  + " (online: " + online.stream().map(w -> w.name() + " " + labels(w.labels()))
                      .collect(Collectors.joining(", ")) + ")."));
      return reasons;
    }
    if (!job.freshness().any()) {
      List<Worker> fresh = fitting.stream().filter(w -> job.freshness().metBy(w.data())).toList();
      if (fresh.isEmpty()) {
        reasons.add(
            new Reason(
                Kind.DATA_STALE,
                "Reference data not fresh enough: the job needs " + rule(job.freshness()) + "; "
                    + fitting.stream().limit(10).map(w -> w.name() + ": " + job.freshness().why(w.data()))
                        .collect(Collectors.joining("; "))
                    + (fitting.size() > 10 ? " and " + (fitting.size() - 10) + " more" : "") + "."));
        return reasons;
      }
      fitting = fresh;
    }
    List<Worker> claiming = fitting.stream().filter(Worker::claiming).toList();
    List<Worker> idle = fitting.stream().filter(w -> !w.claiming()).toList();
    if (claiming.isEmpty()) {
      reasons.add(
          new Reason(
              Kind.NOT_CLAIMING,
              (fitting.size() == 1 ? "The only worker that fits is not" : "None of the " + fitting.size()
                  + " workers that fit is") + " taking work: "
                  + idle.stream().map(Worker::why).collect(Collectors.joining("; ")) + "."));
      return reasons;
    }
    int free = claiming.stream().mapToInt(Worker::freeSlots).sum();
    List<Job> ahead =
        queue.stream()
            .filter(o -> o.id() != job.id() && o.claimable() && o.ahead(job))
            .filter(o -> claiming.stream().anyMatch(o::fits))
            .toList();
    if (free <= 0) {
      reasons.add(
          new Reason(
              Kind.SLOTS_BUSY,
              "All slots are in use on the " + claiming.size() + " worker(s) that fit and take work"
                  + (idle.isEmpty() ? "" : "; not taking work: " + idle.stream().map(Worker::why)
                      .collect(Collectors.joining("; ")))
                  + "."));
    }
    if (!ahead.isEmpty()) {
      reasons.add(
          new Reason(
              Kind.HIGHER_PRIORITY,
              "Jobs ahead in the queue are served first: " + ahead.stream().limit(5)
                  .map(o -> "#" + o.id() + " " + o.name() + " (priority " + o.priority() + ")")
                  .collect(Collectors.joining(", ")) + (ahead.size() > 5 ? " and " + (ahead.size() - 5)
                  + " more" : "") + "."));
    }
    if (reasons.isEmpty()) {
      reasons.add(
          new Reason(
              Kind.CLAIMABLE,
              "Claimable now: " + free + " free slot(s) on " + claiming.size()
                  + " worker(s) that fit; an agent picks it up within seconds."));
    }
    return reasons;
  }

  /** "a replica at most 5 min behind and at least at 0-1-12". */
  private static String rule(Freshness f) {
    List<String> parts = new ArrayList<>();
    if (f.maxLagSeconds() != null) {
      parts.add("a running replica at most " + Freshness.human(f.maxLagSeconds()) + " behind");
    }
    if (f.minPosition() != null) {
      parts.add("data at least at " + f.minPosition());
    }
    return String.join(" and ", parts);
  }

  private static String batches(int n) {
    return n == 1 ? "1 batch" : n + " batches";
  }

  private static String labels(Map<String, String> labels) {
    if (labels.isEmpty()) {
      return "(no labels)";
    }
    return labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted()
        .collect(Collectors.joining(", ", "[", "]"));
  }

  static String seconds(Duration d) {
    long s = Math.max(0, d.toSeconds());
    if (s < 120) {
      return s + " s";
    }
    if (s < 7200) {
      return s / 60 + " min";
    }
    return s / 3600 + " h " + (s % 3600) / 60 + " min";
  }
}
