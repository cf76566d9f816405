package dev.nightshift.server.retention;

import dev.nightshift.protocol.JobState;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;

/**
 * Purges finished jobs whose retention period has ended: their inputs, results, attempts and batches go, the job
 * row stays (counters, versions seen, throughput) marked with {@code purged_at}. Only terminal jobs without leases
 * are touched, and rows are deleted a chunk at a time by the job's own index range, each chunk its own short
 * transaction, with a pause between chunks: claims on other jobs never wait for a purge.
 */
@Service
public class RetentionService {
  private static final Logger log = LoggerFactory.getLogger(RetentionService.class);
  /** Each table's rows of one job, deleted in the order of an index that starts with job_id. */
  private static final String[][] TABLES = {
    {"batch_result", "seq"}, {"batch_input", "seq"}, {"attempt", "id"}, {"batch", "seq"}
  };
  private static final String TERMINAL =
      "'" + JobState.SUCCEEDED.name() + "', '" + JobState.FAILED.name() + "', '" + JobState.CANCELLED.name() + "'";
  private final JdbcTemplate jdbc;
  private final Transactions tx;
  private final Clock clock;
  private final NightshiftProperties.Retention settings;
  /** Called inside each chunk's transaction before it commits (tests look at locks there). */
  private volatile Consumer<String> inChunk = table -> {};

  RetentionService(JdbcTemplate jdbc, Transactions tx, Clock clock, NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.tx = tx;
    this.clock = clock;
    this.settings = properties.retention();
  }

  /** For tests: runs {@code hook} with the table's name inside every chunk's transaction. */
  public void duringChunks(Consumer<String> hook) {
    this.inChunk = hook == null ? table -> {} : hook;
  }

  /** The server's default retention period; zero = finished jobs without their own are kept forever. */
  public Duration defaultRetention() {
    return settings.finishedJobs();
  }

  /** Purges every job that is due now (and finishes purges a restart interrupted); returns how many. */
  public int purgeDue() {
    int purged = 0;
    while (true) {
      List<Long> due = due(clock.instant());
      if (due.isEmpty()) {
        return purged;
      }
      for (long jobId : due) {
        if (purge(jobId)) {
          purged++;
        }
      }
    }
  }

  private List<Long> due(Instant now) {
    long defaultSeconds = Math.max(0, settings.finishedJobs().toSeconds());
    return jdbc.queryForList(
        "SELECT id FROM job WHERE purge_done = FALSE AND (purged_at IS NOT NULL OR (state IN ("
            + TERMINAL
            + ") AND leased_count = 0 AND finished_at IS NOT NULL AND"
            + " ((retention_seconds IS NOT NULL AND TIMESTAMPADD(SECOND, retention_seconds, finished_at) <= ?)"
            + " OR (retention_seconds IS NULL AND ? > 0 AND TIMESTAMPADD(SECOND, ?, finished_at) <= ?))))"
            + " ORDER BY id LIMIT 100",
        Long.class,
        Times.db(now),
        defaultSeconds,
        defaultSeconds,
        Times.db(now));
  }

  /**
   * Marks the job purged (only while it is still finished and holds no lease: a retry that made it RUNNING again
   * wins), then deletes its rows chunk by chunk. False when the job was no longer due.
   */
  boolean purge(long jobId) {
    Instant now = clock.instant();
    jdbc.update(
        "UPDATE job SET purged_at = ? WHERE id = ? AND purged_at IS NULL AND state IN ("
            + TERMINAL
            + ") AND finished_at IS NOT NULL AND leased_count = 0",
        Times.db(now),
        jobId);
    Boolean marked =
        jdbc.queryForList("SELECT purged_at IS NOT NULL FROM job WHERE id = ?", Boolean.class, jobId).stream()
            .findFirst()
            .orElse(false);
    if (!marked) {
      return false;
    }
    long rows = 0;
    for (String[] table : TABLES) {
      rows += deleteAll(jobId, table[0], table[1]);
    }
    jdbc.update("UPDATE job SET purge_done = TRUE WHERE id = ?", jobId);
    log.info("job {}: retention period over, {} row(s) of inputs, results, attempts and batches purged", jobId, rows);
    return true;
  }

  private long deleteAll(long jobId, String table, String order) {
    int chunk = Math.max(1, settings.chunk());
    long total = 0;
    while (true) {
      int n =
          tx.inTransaction(
              () -> {
                int deleted =
                    jdbc.update(
                        "DELETE FROM " + table + " WHERE job_id = ? ORDER BY " + order + " LIMIT ?", jobId, chunk);
                inChunk.accept(table);
                return deleted;
              });
      total += n;
      if (n < chunk) {
        return total;
      }
      pause();
    }
  }

  private void pause() {
    long millis = settings.pause().toMillis();
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis); // gives claims room between chunks; not a wait for a condition
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("purge interrupted", e);
    }
  }
}
