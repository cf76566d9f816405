package dev.nightshift.server.metrics;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.protocol.JobState;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.batches.ClaimDispatcher;
import dev.nightshift.server.code.GitTraffic;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The domain's gauges: batches, jobs and workers by state read from the database, at most once per refresh interval
 * however many meters and scrapers ask (the batch figures are sums of the job rows' counters, never a count over
 * batches); parked claims, lock retries and Git fetches read from the beans that keep them.
 */
@Component
class DomainGauges implements MeterBinder {
  private static final Logger log = LoggerFactory.getLogger(DomainGauges.class);

  private final JdbcTemplate jdbc;
  private final Clock clock;
  private final Duration offlineAfter;
  private final Duration refresh;
  private final ClaimDispatcher dispatcher;
  private final Transactions tx;
  private final GitTraffic git;
  private Snapshot snapshot = Snapshot.EMPTY;
  private long readAt;
  private boolean read;

  DomainGauges(
      JdbcTemplate jdbc,
      Clock clock,
      NightshiftProperties properties,
      @Value("${nightshift.metrics.refresh:10s}") Duration refresh,
      ClaimDispatcher dispatcher,
      Transactions tx,
      GitTraffic git) {
    this.jdbc = jdbc;
    this.clock = clock;
    this.offlineAfter = properties.lease().offlineAfter();
    this.refresh = refresh;
    this.dispatcher = dispatcher;
    this.tx = tx;
    this.git = git;
  }

  /** Figures read together by one refresh. */
  record Snapshot(Map<BatchState, Long> batches, Map<JobState, Long> jobs, Map<WorkerState, Long> workers) {
    static final Snapshot EMPTY =
        new Snapshot(zeros(BatchState.class), zeros(JobState.class), zeros(WorkerState.class));
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    byState(
        registry,
        "nightshift.batches",
        "Batches by state, over all jobs (from the jobs' counters; refreshed every " + refresh + ")",
        BatchState.values(),
        Snapshot::batches);
    byState(registry, "nightshift.jobs", "Jobs by state", JobState.values(), Snapshot::jobs);
    byState(
        registry,
        "nightshift.workers",
        "Workers by state as the dashboard shows them (OFFLINE: no heartbeat for " + offlineAfter + ")",
        WorkerState.values(),
        Snapshot::workers);
    Gauge.builder("nightshift.claims.parked", dispatcher, ClaimDispatcher::waiting)
        .description("Claims parked on this server waiting for work (long-polls)")
        .register(registry);
    FunctionCounter.builder("nightshift.lock.retries", tx, Transactions::lockRetries)
        .description(
            "Transactions retried after a deadlock (1213), lock wait timeout (1205) or cluster certification conflict")
        .register(registry);
    FunctionCounter.builder("nightshift.git.fetches", git, GitTraffic::fetches)
        .description("Git fetches and clones served")
        .register(registry);
    FunctionCounter.builder("nightshift.git.fetch.bytes", git, GitTraffic::bytesServed)
        .description("Pack bytes sent to Git fetches and clones")
        .baseUnit("bytes")
        .register(registry);
  }

  /** One gauge per state, each reading the snapshot's figure for its state. */
  private <E extends Enum<E>> void byState(
      MeterRegistry registry, String name, String description, E[] states, Function<Snapshot, Map<E, Long>> figures) {
    for (E state : states) {
      Gauge.builder(name, this, g -> figures.apply(g.current()).get(state))
          .description(description)
          .tag("state", state.name())
          .register(registry);
    }
  }

  /** Makes the next scrape read the database (tests). */
  synchronized void forget() {
    read = false;
  }

  /** The last snapshot, read again when older than the refresh interval; on a database error the last one stays. */
  synchronized Snapshot current() {
    long tick = System.nanoTime();
    if (read && tick - readAt < refresh.toNanos()) {
      return snapshot;
    }
    read = true;
    readAt = tick; // also after a failure: an unreachable database is not asked again at every scrape
    try {
      snapshot = read(clock.instant());
    } catch (RuntimeException e) {
      log.debug("metrics: could not read the figures, keeping the last ones: {}", e.toString());
    }
    return snapshot;
  }

  private Snapshot read(Instant now) {
    Map<BatchState, Long> batches = zeros(BatchState.class);
    jdbc.query(
        "SELECT COALESCE(SUM(pending_count), 0), COALESCE(SUM(leased_count), 0), COALESCE(SUM(succeeded_count), 0),"
            + " COALESCE(SUM(dead_count), 0), COALESCE(SUM(cancelled_count), 0) FROM job",
        rs -> {
          batches.put(BatchState.PENDING, rs.getLong(1));
          batches.put(BatchState.LEASED, rs.getLong(2));
          batches.put(BatchState.SUCCEEDED, rs.getLong(3));
          batches.put(BatchState.DEAD, rs.getLong(4));
          batches.put(BatchState.CANCELLED, rs.getLong(5));
        });
    Map<JobState, Long> jobs = zeros(JobState.class);
    jdbc.query(
        "SELECT state, COUNT(*) FROM job GROUP BY state",
        rs -> {
          jobs.put(JobState.valueOf(rs.getString(1)), rs.getLong(2));
        });
    Map<WorkerState, Long> workers = zeros(WorkerState.class);
    jdbc.query(
        "SELECT CASE WHEN revoked_at IS NOT NULL THEN 'DISABLED'"
            + " WHEN last_heartbeat_at IS NULL OR last_heartbeat_at < ? THEN 'OFFLINE' ELSE state END AS shown,"
            + " COUNT(*) FROM worker GROUP BY shown",
        rs -> {
          workers.merge(WorkerState.valueOf(rs.getString(1)), rs.getLong(2), Long::sum);
        },
        Times.db(now.minus(offlineAfter)));
    return new Snapshot(batches, jobs, workers);
  }

  private static <E extends Enum<E>> Map<E, Long> zeros(Class<E> type) {
    Map<E, Long> m = new EnumMap<>(type);
    for (E e : type.getEnumConstants()) {
      m.put(e, 0L);
    }
    return m;
  }
}
