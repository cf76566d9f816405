package dev.nightshift.server.dashboard;

import dev.nightshift.protocol.JobState;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * The dashboard's own reads. Every statement is bounded whatever the history holds: counts come from the job
 * counters or stop at a cap, lists are LIMITed and walk an index, and rates come from the per-minute throughput
 * table. Nothing here counts batches or attempts of the whole table.
 */
@Component
class DashboardQueries {
  /** Job counts per state stop here ("10,000+"): the history can be long and a page must stay fast. */
  static final int COUNT_CAP = 10_000;
  /** Failures and versions are looked for among this many most recent attempts of a job. */
  static final int RECENT_ATTEMPTS = 2_000;
  static final int PENDING_SAMPLE = 200;
  static final int LOG_TAIL_CHARS = 4_000;
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final List<String> STATES =
      List.of("QUEUED", "RUNNING", "PAUSED", "SUCCEEDED", "FAILED", "CANCELLED");

  private final JdbcClient jdbc;
  private final JsonMapper json;
  private final Clock clock;

  DashboardQueries(JdbcClient jdbc, JsonMapper json, Clock clock) {
    this.jdbc = jdbc;
    this.json = json;
    this.clock = clock;
  }

  /** Jobs in one state; {@code capped} when there are at least {@link #COUNT_CAP}. */
  record StateCount(String state, long count, boolean capped) {}

  /** A job with pending or running work, with its counters. */
  record ActiveJob(WaitReasons.Job job, int succeeded, int dead, int batchCount) {
    public dev.nightshift.server.jobs.JobQueries.Counts counts() {
      return new dev.nightshift.server.jobs.JobQueries.Counts(job.pending(), job.leased(), succeeded, dead, 0);
    }
  }

  record DeadJob(long id, String name, JobState state, int dead) {}

  record LostWorker(String id, String name, String reportedState, Instant lastHeartbeat) {}

  /** Completions in one minute. */
  record Minute(Instant minute, long batches, long items) {}

  /** One attempt of a job, as the job page lists it. */
  record AttemptRow(
      long id,
      long batchId,
      int seq,
      String batchState,
      int number,
      String workerId,
      String workerName,
      String outcome,
      String commit,
      String version,
      Instant claimedAt,
      Instant finishedAt,
      Integer exitCode,
      String error,
      String logTail) {}

  record VersionSeen(String commit, String version, long attempts, long succeeded, Instant lastSeen) {}

  /** A batch leased right now. */
  record LeasedBatch(
      long batchId, long jobId, String jobName, int seq, String workerId, int attempt, Instant leasedAt,
      Instant leaseExpiresAt) {}

  /** One statement: each state's count, capped so a long history costs no more than the cap. */
  List<StateCount> jobStates() {
    StringBuilder sql = new StringBuilder();
    for (String s : STATES) {
      if (sql.length() > 0) {
        sql.append(" UNION ALL ");
      }
      sql.append("SELECT '").append(s).append("', COUNT(*) FROM (SELECT 1 FROM job WHERE state = '").append(s)
          .append("' LIMIT ").append(COUNT_CAP).append(") t_").append(s);
    }
    return jdbc.sql(sql.toString())
        .query((rs, n) -> new StateCount(rs.getString(1), rs.getLong(2), rs.getLong(2) >= COUNT_CAP))
        .list();
  }

  /** Jobs that are QUEUED, RUNNING or PAUSED, in claim order (priority, then oldest). */
  List<ActiveJob> activeJobs(int limit) {
    return jdbc.sql(
            """
            SELECT id, name, state, priority, labels, max_parallel, pending_count, leased_count, succeeded_count,
              dead_count, batch_count, max_data_lag_seconds, min_data_position
            FROM job WHERE state IN ('QUEUED', 'RUNNING', 'PAUSED')
            ORDER BY priority DESC, id LIMIT ?""")
        .param(limit)
        .query(
            (rs, n) ->
                new ActiveJob(
                    new WaitReasons.Job(
                        rs.getLong(1),
                        rs.getString(2),
                        JobState.valueOf(rs.getString(3)),
                        rs.getInt(4),
                        json.readValue(rs.getString(5), STRING_MAP),
                        rs.getObject(6, Integer.class),
                        rs.getInt(7),
                        rs.getInt(8),
                        new dev.nightshift.server.batches.Freshness(
                            rs.getObject("max_data_lag_seconds", Integer.class), rs.getString("min_data_position"))),
                    rs.getInt(9),
                    rs.getInt(10),
                    rs.getInt(11)))
        .list();
  }

  /** Unfinished or failed jobs holding DEAD batches, newest first. */
  List<DeadJob> deadBatches(int limit) {
    return jdbc.sql(
            """
            SELECT id, name, state, dead_count FROM job
            WHERE state IN ('QUEUED', 'RUNNING', 'PAUSED', 'FAILED') AND dead_count > 0
            ORDER BY id DESC LIMIT ?""")
        .param(limit)
        .query(
            (rs, n) ->
                new DeadJob(rs.getLong(1), rs.getString(2), JobState.valueOf(rs.getString(3)), rs.getInt(4)))
        .list();
  }

  /** Workers whose heartbeats stopped without a goodbye (their last report was not OFFLINE). */
  List<LostWorker> lostWorkers(Instant silentSince, int limit) {
    return jdbc.sql(
            """
            SELECT id, name, state, last_heartbeat_at FROM worker
            WHERE revoked_at IS NULL AND state <> 'OFFLINE' AND last_heartbeat_at < ?
            ORDER BY last_heartbeat_at DESC LIMIT ?""")
        .params(Times.db(silentSince), limit)
        .query(
            (rs, n) ->
                new LostWorker(
                    rs.getString(1), rs.getString(2), rs.getString(3), Times.instant(rs, "last_heartbeat_at")))
        .list();
  }

  /** Leases that expired before {@code before} and are still held: the reaper is not keeping up (capped). */
  int overdueLeases(Instant before, int cap) {
    return jdbc.sql(
            """
            SELECT COUNT(*) FROM (SELECT 1 FROM batch WHERE state = 'LEASED' AND lease_expires_at < ? LIMIT ?) t""")
        .params(Times.db(before), cap)
        .query(Integer.class)
        .single();
  }

  /** Completions per minute over the last {@code minutes} minutes, oldest first, missing minutes as zero. */
  List<Minute> throughput(int minutes) {
    Instant end = clock.instant().truncatedTo(ChronoUnit.MINUTES);
    Instant start = end.minus(minutes - 1, ChronoUnit.MINUTES);
    Map<Instant, Minute> found = new LinkedHashMap<>();
    jdbc.sql(
            """
            SELECT minute, SUM(batches), SUM(items) FROM throughput WHERE minute >= ?
            GROUP BY minute ORDER BY minute""")
        .param(Times.db(start))
        .query(
            rs -> {
              Instant m = Times.instant(rs, "minute");
              found.put(m, new Minute(m, rs.getLong(2), rs.getLong(3)));
            });
    List<Minute> out = new ArrayList<>();
    for (Instant m = start; !m.isAfter(end); m = m.plus(1, ChronoUnit.MINUTES)) {
      out.add(found.getOrDefault(m, new Minute(m, 0, 0)));
    }
    return out;
  }

  /** The first pending batches of a job in claim order: are any due, and when is the next one? */
  WaitReasons.PendingSample pendingSample(long jobId) {
    Instant now = clock.instant();
    List<Instant> notBefore =
        jdbc.sql(
                """
                SELECT not_before FROM batch FORCE INDEX (ix_batch_claim)
                WHERE job_id = ? AND state = 'PENDING' ORDER BY id LIMIT ?""")
            .params(jobId, PENDING_SAMPLE)
            .query((rs, n) -> Times.instant(rs, "not_before"))
            .list();
    int due = (int) notBefore.stream().filter(t -> !t.isAfter(now)).count();
    Instant next = notBefore.stream().filter(t -> t.isAfter(now)).min(Instant::compareTo).orElse(null);
    return new WaitReasons.PendingSample(notBefore.size(), due, next, notBefore.size() < PENDING_SAMPLE);
  }

  private static final String ATTEMPT_COLUMNS =
      "a.id, a.batch_id, b.seq, b.state, a.number, a.worker_id, w.name, a.outcome, a.commit_sha, a.version,"
          + " a.claimed_at, a.finished_at, a.exit_code, a.error";

  private static AttemptRow attempt(java.sql.ResultSet rs, boolean withLog) throws java.sql.SQLException {
    return new AttemptRow(
        rs.getLong(1),
        rs.getLong(2),
        rs.getInt(3),
        rs.getString(4),
        rs.getInt(5),
        rs.getString(6),
        rs.getString(7),
        rs.getString(8),
        rs.getString(9),
        rs.getString(10),
        Times.instant(rs, "claimed_at"),
        Times.instant(rs, "finished_at"),
        rs.getObject(13, Integer.class),
        rs.getString(14),
        withLog ? rs.getString(15) : null);
  }

  /**
   * The newest attempts of a job: the running ones first (a running attempt is its leased batch row: no attempt
   * row exists until the lease ends), then the ended ones, newest first.
   */
  List<AttemptRow> recentAttempts(long jobId, int limit) {
    List<AttemptRow> rows =
        new ArrayList<>(
            jdbc.sql(
                    """
                    SELECT 0, b.id, b.seq, b.state, b.attempts, b.worker_id, w.name, 'RUNNING', b.lease_commit,
                      b.lease_version, b.leased_at AS claimed_at, NULL AS finished_at, NULL, NULL
                    FROM batch b FORCE INDEX (ix_batch_claim) LEFT JOIN worker w ON w.id = b.worker_id
                    WHERE b.job_id = ? AND b.state = 'LEASED' ORDER BY b.id DESC LIMIT ?""")
                .params(jobId, limit)
                .query((rs, n) -> attempt(rs, false))
                .list());
    rows.sort((x, y) -> y.claimedAt().compareTo(x.claimedAt()));
    if (rows.size() < limit) {
      rows.addAll(
          jdbc.sql(
                  "SELECT " + ATTEMPT_COLUMNS + """
                   FROM attempt a JOIN batch b ON b.id = a.batch_id LEFT JOIN worker w ON w.id = a.worker_id
                  WHERE a.job_id = ? ORDER BY a.id DESC LIMIT ?""")
              .params(jobId, limit - rows.size())
              .query((rs, n) -> attempt(rs, false))
              .list());
    }
    return rows;
  }

  /**
   * Failed attempts with their log tails: those of the job's newest DEAD batches, and those among its most recent
   * {@link #RECENT_ATTEMPTS} attempts; newest first.
   */
  List<AttemptRow> failures(long jobId, int limit) {
    String failed = "a.outcome IN ('FAILED', 'TIMED_OUT', 'EXPIRED', 'REFUSED')";
    String select = "SELECT " + ATTEMPT_COLUMNS + ", RIGHT(a.log_tail, " + LOG_TAIL_CHARS + ")";
    Map<Long, AttemptRow> rows = new LinkedHashMap<>();
    jdbc.sql(
            select
                + " FROM (SELECT id FROM attempt WHERE job_id = ? ORDER BY id DESC LIMIT ?) r"
                + " JOIN attempt a ON a.id = r.id JOIN batch b ON b.id = a.batch_id"
                + " LEFT JOIN worker w ON w.id = a.worker_id WHERE " + failed + " ORDER BY a.id DESC LIMIT ?")
        .params(jobId, RECENT_ATTEMPTS, limit)
        .query((rs, n) -> attempt(rs, true))
        .list()
        .forEach(a -> rows.put(a.id(), a));
    jdbc.sql(
            select
                + " FROM (SELECT id FROM batch FORCE INDEX (ix_batch_claim) WHERE job_id = ? AND state = 'DEAD'"
                + " ORDER BY id DESC LIMIT ?) d JOIN batch b ON b.id = d.id JOIN attempt a ON a.batch_id = d.id"
                + " LEFT JOIN worker w ON w.id = a.worker_id WHERE " + failed + " ORDER BY a.id DESC LIMIT ?")
        .params(jobId, limit, limit)
        .query((rs, n) -> attempt(rs, true))
        .list()
        .forEach(a -> rows.putIfAbsent(a.id(), a));
    return rows.values().stream()
        .sorted((x, y) -> Long.compare(y.id(), x.id()))
        .limit(limit)
        .toList();
  }

  /** Commits and versions that ran the job, among its most recent {@link #RECENT_ATTEMPTS} attempts. */
  List<VersionSeen> versions(long jobId) {
    return jdbc.sql(
            """
            SELECT commit_sha, version, COUNT(*), SUM(outcome = 'SUCCEEDED'), MAX(finished_at) AS last_seen
            FROM (SELECT commit_sha, version, outcome, finished_at FROM attempt WHERE job_id = ?
                  ORDER BY id DESC LIMIT ?) r
            GROUP BY commit_sha, version ORDER BY last_seen DESC LIMIT 20""")
        .params(jobId, RECENT_ATTEMPTS)
        .query(
            (rs, n) ->
                new VersionSeen(
                    rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4), Times.instant(rs, "last_seen")))
        .list();
  }

  /** Names of these workers by id; unknown ids are absent. */
  Map<String, String> workerNames(List<String> ids) {
    Map<String, String> names = new java.util.HashMap<>();
    if (ids.isEmpty()) {
      return names;
    }
    jdbc.sql("SELECT id, name FROM worker WHERE id IN (" + String.join(",", java.util.Collections.nCopies(ids.size(), "?")) + ")")
        .params(new ArrayList<Object>(ids))
        .query((java.sql.ResultSet rs) -> {
          names.put(rs.getString(1), rs.getString(2));
        });
    return names;
  }

  /** Batches leased now, soonest expiry first (the reaper's index), at most {@code limit}. */
  List<LeasedBatch> leased(int limit) {
    return jdbc.sql(
            """
            SELECT b.id, b.job_id, j.name, b.seq, b.worker_id, b.attempts, b.leased_at, b.lease_expires_at
            FROM batch b JOIN job j ON j.id = b.job_id
            WHERE b.state = 'LEASED' ORDER BY b.lease_expires_at LIMIT ?""")
        .param(limit)
        .query(
            (rs, n) ->
                new LeasedBatch(
                    rs.getLong(1),
                    rs.getLong(2),
                    rs.getString(3),
                    rs.getInt(4),
                    rs.getString(5),
                    rs.getInt(6),
                    Times.instant(rs, "leased_at"),
                    Times.instant(rs, "lease_expires_at")))
        .list();
  }
}
