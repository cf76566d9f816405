package dev.nightshift.server.jobs;

import dev.nightshift.protocol.JobState;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Read side of jobs. Counts come from the job's own counters, the rate from the per-minute throughput table:
 * no page counts batches or scans attempts.
 */
@Component
public class JobQueries {
  static final int RATE_WINDOW_MINUTES = 5;
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};
  private static final String COLUMNS =
      "id, name, command, state, priority, batch_size, max_attempts, timeout_seconds, max_parallel, env, labels,"
          + " commit_sha, input_kind, item_count, batch_count, pending_count, leased_count, succeeded_count,"
          + " dead_count, cancelled_count, succeeded_items, submitted_by, created_at, started_at, finished_at,"
          + " updated_at, max_data_lag_seconds, min_data_position,"
          + " retention_seconds, purged_at, secret_names, entry_point, entry_args";
  private final JdbcClient jdbc;
  private final JsonMapper json;
  private final Clock clock;
  private final Duration defaultRetention;

  JobQueries(
      JdbcClient jdbc,
      JsonMapper json,
      Clock clock,
      dev.nightshift.server.system.NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.json = json;
    this.clock = clock;
    this.defaultRetention = properties.retention().finishedJobs();
  }

  /** Batches of a job by state. */
  public record Counts(int pending, int leased, int succeeded, int dead, int cancelled) {}

  /** Succeeded batches of a job produced by one commit. */
  public record VersionSeen(String commit, String version, int batches, long items) {}

  /**
   * Succeeded batches of a job that ran against one reference-data position (docs/reference-data.md), among its
   * latest {@link #DATA_SEEN_ATTEMPTS} attempts: the position, how many batches, the largest lag any of them ran
   * with, and when the last of them finished.
   */
  public record DataSeen(String position, int batches, Long maxLagSeconds, Instant lastFinishedAt) {}

  /** The most data positions a job view lists (the most recent ones). */
  static final int DATA_SEEN_LIMIT = 20;

  /** How many of the job's latest attempts the data positions are read from. */
  static final int DATA_SEEN_ATTEMPTS = 2000;

  /** A job as the API shows it. */
  public record JobView(
      long id,
      String name,
      JobState state,
      String command,
      int priority,
      int batchSize,
      int maxAttempts,
      int timeoutSeconds,
      Integer maxParallel,
      Map<String, String> env,
      Map<String, String> labels,
      String commit,
      String input,
      long itemCount,
      int batchCount,
      Counts counts,
      long succeededItems,
      double progress,
      double itemsPerMinute,
      Long etaSeconds,
      Instant eta,
      String submittedBy,
      Instant createdAt,
      Instant startedAt,
      Instant finishedAt,
      Instant updatedAt,
      List<VersionSeen> versions,
      Integer maxDataLagSeconds,
      String minDataPosition,
      List<DataSeen> data,
      Retention retention,
      List<String> secrets,
      String entryPoint,
      List<String> args) {

    /** The same job with every {@code env} value shown as {@code ***} (keys stay): what OPERATOR sees. */
    public JobView withEnvMasked() {
      Map<String, String> masked = new java.util.LinkedHashMap<>();
      env.keySet().forEach(k -> masked.put(k, "***"));
      return new JobView(id, name, state, command, priority, batchSize, maxAttempts, timeoutSeconds, maxParallel,
          masked, labels, commit, input, itemCount, batchCount, counts, succeededItems, progress, itemsPerMinute,
          etaSeconds, eta, submittedBy, createdAt, startedAt, finishedAt, updatedAt, versions, maxDataLagSeconds,
          minDataPosition, data, retention, secrets, entryPoint, args);
    }
  }

  /**
   * What is kept of a job and until when.
   *
   * @param period how long after finishing the inputs, results and attempts are kept ("7d"), or "forever"
   * @param source "job" when the job set its own period, else "server"
   * @param purgeAfter when they will be purged (null while the job has not finished, or kept forever)
   * @param purgedAt when they were purged (null until then); the job's counters and versions stay
   * @param note the same in one sentence
   */
  public record Retention(String period, String source, Instant purgeAfter, Instant purgedAt, String note) {}

  /** A page of jobs, newest first; {@code nextBefore} fetches the next page. */
  public record JobPage(List<JobView> items, Long nextBefore) {}

  public JobView get(long id) {
    Row row =
        jdbc.sql("SELECT " + COLUMNS + " FROM job WHERE id = ?")
            .param(id)
            .query((rs, n) -> row(rs))
            .optional()
            .orElseThrow(() -> ProblemException.notFound("job", id));
    List<VersionSeen> versions =
        jdbc.sql(
                "SELECT commit_sha, version, batches, items FROM job_version WHERE job_id = ? ORDER BY batches DESC"
                    + " LIMIT 50")
            .param(id)
            .query((rs, n) -> new VersionSeen(rs.getString(1), rs.getString(2), rs.getInt(3), rs.getLong(4)))
            .list();
    // Among the job's latest attempts (ix_attempt_job), as the dashboard's versions seen: bounded for any job size.
    List<DataSeen> data =
        jdbc.sql(
                """
                SELECT data_position, COUNT(*), MAX(data_lag_seconds), MAX(finished_at) AS last_at
                FROM (SELECT data_position, data_lag_seconds, finished_at, outcome FROM attempt WHERE job_id = ?
                      ORDER BY id DESC LIMIT ?) r
                WHERE outcome = 'SUCCEEDED' AND data_position IS NOT NULL
                GROUP BY data_position ORDER BY last_at DESC LIMIT ?""")
            .params(id, DATA_SEEN_ATTEMPTS, DATA_SEEN_LIMIT)
            .query(
                (rs, n) ->
                    new DataSeen(
                        rs.getString(1), rs.getInt(2), rs.getObject(3, Long.class), Times.instant(rs, "last_at")))
            .list();
    return view(row, rates(List.of(id)), versions, data);
  }

  public JobPage list(JobState state, Long before, int limit) {
    return list(state, null, before, limit);
  }

  /** Like {@link #list(JobState, Long, int)}, also filtered by a part of the name (case-insensitive). */
  public JobPage list(JobState state, String nameContains, Long before, int limit) {
    StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM job WHERE 1 = 1");
    List<Object> args = new ArrayList<>();
    if (state != null) {
      sql.append(" AND state = ?");
      args.add(state.name());
    }
    if (nameContains != null && !nameContains.isBlank()) {
      sql.append(" AND name LIKE ? ESCAPE '!'");
      args.add("%" + nameContains.strip().replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%");
    }
    if (before != null) {
      sql.append(" AND id < ?");
      args.add(before);
    }
    sql.append(" ORDER BY id DESC LIMIT ?");
    args.add(limit + 1);
    List<Row> rows = jdbc.sql(sql.toString()).params(args).query((rs, n) -> row(rs)).list();
    Long next = null;
    if (rows.size() > limit) {
      rows = rows.subList(0, limit);
      next = rows.get(limit - 1).id;
    }
    Map<Long, Long> rates = rates(rows.stream().map(r -> r.id).toList());
    return new JobPage(rows.stream().map(r -> view(r, rates, null, null)).toList(), next);
  }

  /** Items completed per job over the last few minutes. */
  private Map<Long, Long> rates(List<Long> jobIds) {
    Map<Long, Long> rates = new HashMap<>();
    if (jobIds.isEmpty()) {
      return rates;
    }
    Instant since = clock.instant().truncatedTo(ChronoUnit.MINUTES).minus(RATE_WINDOW_MINUTES - 1, ChronoUnit.MINUTES);
    String marks = jobIds.stream().map(i -> "?").collect(Collectors.joining(","));
    List<Object> args = new ArrayList<>(jobIds);
    args.add(Times.db(since));
    jdbc.sql(
            "SELECT job_id, SUM(items) FROM throughput WHERE job_id IN ("
                + marks
                + ") AND minute >= ? GROUP BY job_id")
        .params(args)
        .query(rs -> {
          rates.put(rs.getLong(1), rs.getLong(2));
        });
    return rates;
  }

  private record Row(
      long id,
      String name,
      String command,
      JobState state,
      int priority,
      int batchSize,
      int maxAttempts,
      int timeoutSeconds,
      Integer maxParallel,
      String env,
      String labels,
      String commit,
      String input,
      long itemCount,
      int batchCount,
      Counts counts,
      long succeededItems,
      String submittedBy,
      Instant createdAt,
      Instant startedAt,
      Instant finishedAt,
      Instant updatedAt,
      Integer maxDataLagSeconds,
      String minDataPosition,
      Long retentionSeconds,
      Instant purgedAt,
      String secretNames,
      String entryPoint,
      String entryArgs) {}

  private Row row(ResultSet rs) throws SQLException {
    return new Row(
        rs.getLong("id"),
        rs.getString("name"),
        rs.getString("command"),
        JobState.valueOf(rs.getString("state")),
        rs.getInt("priority"),
        rs.getInt("batch_size"),
        rs.getInt("max_attempts"),
        rs.getInt("timeout_seconds"),
        rs.getObject("max_parallel", Integer.class),
        rs.getString("env"),
        rs.getString("labels"),
        rs.getString("commit_sha"),
        rs.getString("input_kind"),
        rs.getLong("item_count"),
        rs.getInt("batch_count"),
        new Counts(
            rs.getInt("pending_count"),
            rs.getInt("leased_count"),
            rs.getInt("succeeded_count"),
            rs.getInt("dead_count"),
            rs.getInt("cancelled_count")),
        rs.getLong("succeeded_items"),
        rs.getString("submitted_by"),
        Times.instant(rs, "created_at"),
        Times.instant(rs, "started_at"),
        Times.instant(rs, "finished_at"),
        Times.instant(rs, "updated_at"),
        rs.getObject("max_data_lag_seconds", Integer.class),
        rs.getString("min_data_position"),
        rs.getObject("retention_seconds", Long.class),
        Times.instant(rs, "purged_at"),
        rs.getString("secret_names"),
        rs.getString("entry_point"),
        rs.getString("entry_args"));
  }

  /** {@code versions} and {@code data} null = not loaded (lists leave them out). */
  private JobView view(Row r, Map<Long, Long> rates, List<VersionSeen> versions, List<DataSeen> data) {
    Instant now = clock.instant();
    Counts c = r.counts;
    int finished = c.succeeded() + c.dead() + c.cancelled();
    double progress = r.batchCount == 0 ? 0 : (double) finished / r.batchCount;
    // Rate over the window, or over the job's life if it started more recently.
    long windowItems = rates.getOrDefault(r.id, 0L);
    double minutes = RATE_WINDOW_MINUTES;
    if (r.startedAt != null) {
      double sinceStart = Math.max(Duration.between(r.startedAt, now).toMillis() / 60_000.0, 1.0 / 60);
      minutes = Math.min(minutes, sinceStart);
    }
    double perMinute = r.startedAt == null ? 0 : windowItems / minutes;
    if (r.finishedAt != null && r.startedAt != null) {
      // A finished job's rate is its whole run's, fixed: it no longer changes with the time the page is read.
      double ran = Math.max(Duration.between(r.startedAt, r.finishedAt).toMillis() / 60_000.0, 1.0 / 60);
      perMinute = r.succeededItems / ran;
    }
    Long etaSeconds = null;
    Instant eta = null;
    boolean active = r.state == JobState.RUNNING || r.state == JobState.QUEUED;
    long remainingItems = Math.max(0, r.itemCount - r.succeededItems);
    if (active && perMinute > 0 && remainingItems > 0) {
      etaSeconds = Math.round(remainingItems / perMinute * 60);
      eta = now.plusSeconds(etaSeconds);
    }
    return new JobView(
        r.id,
        r.name,
        r.state,
        r.command,
        r.priority,
        r.batchSize,
        r.maxAttempts,
        r.timeoutSeconds,
        r.maxParallel,
        json.readValue(r.env, STRING_MAP),
        json.readValue(r.labels, STRING_MAP),
        r.commit,
        r.input,
        r.itemCount,
        r.batchCount,
        c,
        r.succeededItems,
        Math.round(progress * 10000) / 10000.0,
        Math.round(perMinute * 10) / 10.0,
        etaSeconds,
        eta,
        r.submittedBy,
        r.createdAt,
        r.startedAt,
        r.finishedAt,
        r.updatedAt,
        versions,
        r.maxDataLagSeconds,
        r.minDataPosition,
        data,
        retention(r),
        r.secretNames == null ? List.of() : json.readValue(r.secretNames, STRING_LIST),
        r.entryPoint,
        r.entryArgs == null ? null : json.readValue(r.entryArgs, STRING_LIST));
  }

  /** "7d", "12h", "90m", or whole seconds when none fits. */
  static String period(Duration d) {
    long s = d.toSeconds();
    if (s % 86_400 == 0) {
      return s / 86_400 + "d";
    }
    if (s % 3_600 == 0) {
      return s / 3_600 + "h";
    }
    if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }

  private Retention retention(Row r) {
    boolean own = r.retentionSeconds != null;
    Duration keep = own ? Duration.ofSeconds(r.retentionSeconds) : defaultRetention;
    boolean forever = !own && (keep.isZero() || keep.isNegative());
    String period = forever ? "forever" : period(keep);
    String source = own ? "job" : "server";
    boolean finished = r.finishedAt != null && r.state != JobState.QUEUED && r.state != JobState.RUNNING
        && r.state != JobState.PAUSED;
    if (r.purgedAt != null) {
      return new Retention(period, source, null, r.purgedAt,
          "inputs, results and attempts purged on " + r.purgedAt + " (" + period
              + " after the job finished); counters and versions kept");
    }
    if (forever) {
      return new Retention(period, source, null, null, "inputs, results and attempts kept forever");
    }
    if (!finished) {
      return new Retention(period, source, null, null,
          "inputs, results and attempts kept while the job runs, then for " + period + " after it finishes");
    }
    Instant purgeAfter = r.finishedAt.plus(keep);
    return new Retention(period, source, purgeAfter, null,
        "results kept until " + purgeAfter + " (" + period + " after the job finished), then purged");
  }
}
