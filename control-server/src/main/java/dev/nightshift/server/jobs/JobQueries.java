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
  private static final String COLUMNS =
      "id, name, command, state, priority, batch_size, max_attempts, timeout_seconds, max_parallel, env, labels,"
          + " commit_sha, input_kind, item_count, batch_count, pending_count, leased_count, succeeded_count,"
          + " dead_count, cancelled_count, succeeded_items, submitted_by, created_at, started_at, finished_at,"
          + " updated_at";
  private final JdbcClient jdbc;
  private final JsonMapper json;
  private final Clock clock;

  JobQueries(JdbcClient jdbc, JsonMapper json, Clock clock) {
    this.jdbc = jdbc;
    this.json = json;
    this.clock = clock;
  }

  /** Batches of a job by state. */
  public record Counts(int pending, int leased, int succeeded, int dead, int cancelled) {}

  /** Succeeded batches of a job produced by one commit. */
  public record VersionSeen(String commit, String version, int batches, long items) {}

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
      List<VersionSeen> versions) {

    /** The same job with every {@code env} value shown as {@code ***} (keys stay): what OPERATOR sees. */
    public JobView withEnvMasked() {
      Map<String, String> masked = new java.util.LinkedHashMap<>();
      env.keySet().forEach(k -> masked.put(k, "***"));
      return new JobView(id, name, state, command, priority, batchSize, maxAttempts, timeoutSeconds, maxParallel,
          masked, labels, commit, input, itemCount, batchCount, counts, succeededItems, progress, itemsPerMinute,
          etaSeconds, eta, submittedBy, createdAt, startedAt, finishedAt, updatedAt, versions);
    }
  }

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
    return view(row, rates(List.of(id)), versions);
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
    return new JobPage(rows.stream().map(r -> view(r, rates, null)).toList(), next);
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
      Instant updatedAt) {}

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
        Times.instant(rs, "updated_at"));
  }

  /** {@code versions} null = not loaded (lists leave it out). */
  private JobView view(Row r, Map<Long, Long> rates, List<VersionSeen> versions) {
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
        versions);
  }
}
