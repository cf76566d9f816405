package dev.nightshift.server.dashboard;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.JobState;
import dev.nightshift.server.batches.Freshness;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.batches.BatchQueries;
import dev.nightshift.server.jobs.JobQueries;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.workers.WorkerQueries;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Assembles what each page shows from a small, fixed number of bounded queries (see {@link DashboardQueries}):
 * the same work for 10 jobs or 10,000, for 1,000 batches or 1,000,000.
 */
@Component
class DashboardViews {
  static final int CHART_MINUTES = 60;
  static final int ACTIVE_JOBS = 200;
  static final int PAGE_SIZE = 50;
  static final int LEASED_SHOWN = 1_000;

  private final DashboardQueries queries;
  private final JobQueries jobs;
  private final BatchQueries batches;
  private final WorkerQueries workers;
  private final ObjectProvider<ReleaseView> releases;
  private final Clock clock;
  private final Duration offlineAfter;

  DashboardViews(
      DashboardQueries queries,
      JobQueries jobs,
      BatchQueries batches,
      WorkerQueries workers,
      ObjectProvider<ReleaseView> releases,
      Clock clock,
      NightshiftProperties properties) {
    this.queries = queries;
    this.jobs = jobs;
    this.batches = batches;
    this.workers = workers;
    this.releases = releases;
    this.clock = clock;
    this.offlineAfter = properties.lease().offlineAfter();
  }

  // ------------------------------------------------------------------------------------------------ overview

  /** Something an operator should look at; {@code link} leads to where it can be dealt with. */
  record Problem(String severity, String text, String link) {}

  record Totals(long pending, long leased, long succeeded, long dead, long batches) {}

  /** One bar of the throughput chart, in SVG user units. */
  record Bar(double x, double y, double width, double height, String title) {}

  record Chart(List<Bar> bars, long maxPerMinute, long totalItems, long totalBatches, double width, double height) {}

  record Overview(
      List<DashboardQueries.StateCount> jobStates,
      Totals totals,
      List<DashboardQueries.ActiveJob> active,
      Chart chart,
      Map<WorkerState, Long> workersByState,
      long workersOnline,
      long workersTotal,
      long freeSlots,
      long slots,
      Optional<ReleaseView.Release> release,
      boolean codeDistribution,
      List<Problem> problems) {}

  Overview overview() {
    Instant now = clock.instant();
    List<DashboardQueries.ActiveJob> active = queries.activeJobs(ACTIVE_JOBS);
    List<WorkerQueries.WorkerView> all = workers.list();
    Totals totals =
        new Totals(
            active.stream().mapToLong(a -> a.job().pending()).sum(),
            active.stream().mapToLong(a -> a.job().leased()).sum(),
            active.stream().mapToLong(DashboardQueries.ActiveJob::succeeded).sum(),
            active.stream().mapToLong(DashboardQueries.ActiveJob::dead).sum(),
            active.stream().mapToLong(DashboardQueries.ActiveJob::batchCount).sum());
    Map<WorkerState, Long> byState = new EnumMap<>(WorkerState.class);
    all.forEach(w -> byState.merge(w.state(), 1L, Long::sum));
    List<WorkerQueries.WorkerView> online = all.stream().filter(w -> isOnline(w.state())).toList();
    ReleaseView rv = releases.getIfAvailable();
    return new Overview(
        queries.jobStates(),
        totals,
        active.stream().limit(12).toList(),
        chart(queries.throughput(CHART_MINUTES)),
        byState,
        online.size(),
        all.size(),
        online.stream().mapToLong(WorkerQueries.WorkerView::freeSlots).sum(),
        online.stream().mapToLong(WorkerQueries.WorkerView::slots).sum(),
        rv == null ? Optional.empty() : rv.current(),
        rv != null,
        problems(active, all, now));
  }

  private List<Problem> problems(
      List<DashboardQueries.ActiveJob> active, List<WorkerQueries.WorkerView> all, Instant now) {
    List<Problem> problems = new ArrayList<>();
    List<WaitReasons.Worker> facts = workerFacts(all);
    List<WaitReasons.Job> queue = active.stream().map(DashboardQueries.ActiveJob::job).toList();
    long leased = queue.stream().mapToLong(WaitReasons.Job::leased).sum();
    List<WaitReasons.Job> waiting = queue.stream().filter(j -> j.pending() > 0).toList();
    if (leased == 0 && !waiting.isEmpty()) {
      List<WaitReasons.Job> unpaused = waiting.stream().filter(j -> j.state() != JobState.PAUSED).toList();
      if (unpaused.isEmpty()) {
        problems.add(
            new Problem(
                "bad",
                "Nothing is running because every job with pending batches is paused (" + waiting.size()
                    + " job(s)): resume one to run it.",
                "/ui/jobs?state=PAUSED"));
      } else {
        for (WaitReasons.Job j : unpaused.stream().limit(5).toList()) {
          List<WaitReasons.Reason> why = WaitReasons.forJob(j, facts, queue, queries.pendingSample(j.id()), now);
          String text = why.stream().map(WaitReasons.Reason::text).collect(Collectors.joining(" "));
          problems.add(
              new Problem("bad", "Nothing is running because … job #" + j.id() + " " + j.name() + ": " + text,
                  "/ui/jobs/" + j.id()));
        }
      }
    } else {
      // Something runs; still name jobs that nobody can run until something changes.
      for (WaitReasons.Job j : waiting.stream().filter(j -> j.leased() == 0).limit(20).toList()) {
        List<WaitReasons.Reason> why =
            WaitReasons.forJob(j, facts, queue, WaitReasons.PendingSample.unknown(), now);
        why.stream()
            .filter(r -> r.blocking() && r.kind() != WaitReasons.Kind.PAUSED)
            .findFirst()
            .ifPresent(
                r -> problems.add(
                    new Problem("warn", "Job #" + j.id() + " " + j.name() + " is stuck: " + r.text(),
                        "/ui/jobs/" + j.id())));
      }
    }
    for (DashboardQueries.DeadJob d : queries.deadBatches(10)) {
      problems.add(
          new Problem(
              "bad",
              "Job #" + d.id() + " " + d.name() + " (" + d.state() + ") has " + d.dead()
                  + " dead batch(es): read their logs, then retry.",
              "/ui/jobs/" + d.id() + "?batches=DEAD"));
    }
    for (DashboardQueries.LostWorker w : queries.lostWorkers(now.minus(offlineAfter), 10)) {
      problems.add(
          new Problem(
              "warn",
              "Worker " + w.name() + " was lost: its last heartbeat was "
                  + WaitReasons.seconds(Duration.between(w.lastHeartbeat(), now)) + " ago (last state "
                  + w.reportedState() + "), without a goodbye.",
              "/ui/workers#w-" + w.id()));
    }
    int overdue = queries.overdueLeases(now.minus(Duration.ofMinutes(1)), 1000);
    if (overdue > 0) {
      problems.add(
          new Problem(
              "warn",
              (overdue >= 1000 ? "1,000+" : overdue) + " lease(s) expired over a minute ago and were not reaped:"
                  + " is the server's background work disabled (nightshift.background.enabled)?",
              "/ui/workers"));
    }
    return problems;
  }

  private Chart chart(List<DashboardQueries.Minute> minutes) {
    double width = 600;
    double height = 120;
    long max = minutes.stream().mapToLong(DashboardQueries.Minute::items).max().orElse(0);
    double slot = width / minutes.size();
    List<Bar> bars = new ArrayList<>();
    java.time.format.DateTimeFormatter hm =
        java.time.format.DateTimeFormatter.ofPattern("HH:mm").withZone(java.time.ZoneId.systemDefault());
    for (int i = 0; i < minutes.size(); i++) {
      DashboardQueries.Minute m = minutes.get(i);
      double h = max == 0 ? 0 : Math.max(m.items() > 0 ? 2 : 0, m.items() * (height - 4) / max);
      bars.add(
          new Bar(
              Math.round(i * slot * 10) / 10.0,
              Math.round((height - h) * 10) / 10.0,
              Math.round((slot - 1.5) * 10) / 10.0,
              Math.round(h * 10) / 10.0,
              hm.format(m.minute()) + ": " + m.items() + " items in " + m.batches() + " batches"));
    }
    return new Chart(
        bars,
        max,
        minutes.stream().mapToLong(DashboardQueries.Minute::items).sum(),
        minutes.stream().mapToLong(DashboardQueries.Minute::batches).sum(),
        width,
        height);
  }

  // ------------------------------------------------------------------------------------------------ jobs

  JobQueries.JobPage jobs(JobState state, String name, Long before) {
    return jobs.list(state, name, before, PAGE_SIZE);
  }

  record JobDetail(
      JobQueries.JobView job,
      List<WaitReasons.Reason> reasons,
      List<DashboardQueries.AttemptRow> failures,
      List<DashboardQueries.AttemptRow> attempts,
      List<DashboardQueries.VersionSeen> versions,
      boolean canPause,
      boolean canResume,
      boolean canCancel,
      boolean canRetry) {}

  JobDetail job(long id) {
    JobQueries.JobView job = jobs.get(id);
    List<WaitReasons.Reason> reasons = reasons(job);
    JobState s = job.state();
    return new JobDetail(
        job,
        reasons,
        queries.failures(id, 10),
        queries.recentAttempts(id, 20),
        queries.versions(id),
        s == JobState.QUEUED || s == JobState.RUNNING,
        s == JobState.PAUSED,
        !s.isTerminal(),
        job.counts().dead() > 0 && s != JobState.CANCELLED && s != JobState.SUCCEEDED);
  }

  /** Why the job's pending batches wait (empty when none do). */
  List<WaitReasons.Reason> reasons(JobQueries.JobView job) {
    long id = job.id();
    List<WaitReasons.Reason> reasons = List.of();
    if (!job.state().isTerminal() && job.counts().pending() > 0) {
      List<WaitReasons.Job> queue =
          queries.activeJobs(ACTIVE_JOBS).stream().map(DashboardQueries.ActiveJob::job).toList();
      WaitReasons.Job facts =
          new WaitReasons.Job(
              job.id(), job.name(), job.state(), job.priority(), job.labels(), job.maxParallel(),
              job.counts().pending(), job.counts().leased(),
              new Freshness(job.maxDataLagSeconds(), job.minDataPosition()));
      WaitReasons.PendingSample sample =
          job.state() == JobState.PAUSED ? WaitReasons.PendingSample.unknown() : queries.pendingSample(id);
      reasons = WaitReasons.forJob(facts, workerFacts(workers.list()), queue, sample, clock.instant());
    }
    return reasons;
  }

  /** The job's newest failed attempts with their stderr tails. */
  List<DashboardQueries.AttemptRow> failures(long jobId, int limit) {
    jobs.get(jobId); // 404 for an unknown job
    return queries.failures(jobId, limit);
  }

  JobQueries.JobView jobView(long id) {
    return jobs.get(id);
  }

  BatchQueries.BatchPage batches(long jobId, BatchState state, Integer after) {
    return batches.forJob(jobId, state, after, PAGE_SIZE);
  }

  /** Worker names by id, for the ids a page shows (the same names the attempts show). */
  Map<String, String> workerNames(java.util.Collection<String> ids) {
    return queries.workerNames(ids.stream().filter(java.util.Objects::nonNull).distinct().toList());
  }

  // ------------------------------------------------------------------------------------------------ workers

  record WorkerRow(
      WorkerQueries.WorkerView worker, List<DashboardQueries.LeasedBatch> running, String version, boolean behind) {}

  record Workers(List<WorkerRow> rows, Map<WorkerState, Long> byState, int leasedShown, boolean leasedCapped) {}

  Workers workers() {
    List<WorkerQueries.WorkerView> all = workers.list();
    List<DashboardQueries.LeasedBatch> leased = queries.leased(LEASED_SHOWN);
    Map<String, List<DashboardQueries.LeasedBatch>> byWorker =
        leased.stream().collect(Collectors.groupingBy(DashboardQueries.LeasedBatch::workerId));
    ReleaseView rv = releases.getIfAvailable();
    Map<String, String> versions = new HashMap<>();
    String current = null;
    if (rv != null) {
      rv.history(100).forEach(r -> versions.putIfAbsent(r.commit(), r.version()));
      current = rv.current().map(ReleaseView.Release::commit).orElse(null);
    }
    List<WorkerRow> rows = new ArrayList<>();
    Map<WorkerState, Long> byState = new EnumMap<>(WorkerState.class);
    for (WorkerQueries.WorkerView w : all) {
      byState.merge(w.state(), 1L, Long::sum);
      boolean behind = current != null && w.commit() != null && !current.equals(w.commit());
      rows.add(new WorkerRow(w, byWorker.getOrDefault(w.id(), List.of()), versions.get(w.commit()), behind));
    }
    return new Workers(rows, byState, leased.size(), leased.size() >= LEASED_SHOWN);
  }

  // ------------------------------------------------------------------------------------------------ code

  record Code(boolean available, Optional<ReleaseView.Release> current, List<ReleaseView.Release> history) {}

  Code code() {
    ReleaseView rv = releases.getIfAvailable();
    if (rv == null) {
      return new Code(false, Optional.empty(), List.of());
    }
    return new Code(true, rv.current(), rv.history(50));
  }

  Optional<ReleaseView> releaseView() {
    return Optional.ofNullable(releases.getIfAvailable());
  }

  // ------------------------------------------------------------------------------------------------ shared

  static boolean isOnline(WorkerState s) {
    return s != WorkerState.OFFLINE && s != WorkerState.DISABLED;
  }

  private static List<WaitReasons.Worker> workerFacts(List<WorkerQueries.WorkerView> all) {
    return all.stream()
        .map(
            w ->
                new WaitReasons.Worker(
                    w.name(), w.state(), w.reason(), w.labels(), w.freeSlots(), w.drainedAt() != null,
                    w.lastHeartbeatAt(), w.data()))
        .toList();
  }
}
