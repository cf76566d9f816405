package dev.nightshift.server.jobs;

import dev.nightshift.protocol.JobState;
import dev.nightshift.server.batches.BatchSweeps;
import dev.nightshift.server.batches.WorkAvailable;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.io.InputStream;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.stereotype.Service;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Submits jobs and carries out the admin's actions on them. */
@Service
public class JobService {
  private static final Logger log = LoggerFactory.getLogger(JobService.class);
  private final JdbcClient jdbc;
  private final JdbcTemplate template;
  private final Transactions tx;
  private final BatchSweeps sweeps;
  private final Clock clock;
  private final JsonMapper json;
  private final ApplicationEventPublisher events;
  private final NightshiftProperties.Limits limits;
  private final dev.nightshift.server.code.CodeRepository code;
  private final dev.nightshift.server.code.ReleaseService releases;

  private final JobSecrets secrets;

  JobService(
      JdbcClient jdbc,
      JdbcTemplate template,
      Transactions tx,
      BatchSweeps sweeps,
      Clock clock,
      JsonMapper json,
      ApplicationEventPublisher events,
      NightshiftProperties properties,
      dev.nightshift.server.code.CodeRepository code,
      dev.nightshift.server.code.ReleaseService releases,
      JobSecrets secrets) {
    this.jdbc = jdbc;
    this.secrets = secrets;
    this.template = template;
    this.tx = tx;
    this.sweeps = sweeps;
    this.clock = clock;
    this.json = json;
    this.events = events;
    this.limits = properties.limits();
    this.code = code;
    this.releases = releases;
  }

  long submit(JobSpec spec, List<JsonNode> items, JobSubmission.Range range, String user) {
    String inputKind = range != null ? "RANGE" : "ITEMS";
    return submit(
        spec,
        inputKind,
        writer -> {
          if (range != null) {
            writer.range(range.start(), range.end());
          } else {
            for (JsonNode item : items) {
              writer.item(json.writeValueAsString(item));
            }
          }
        },
        user);
  }

  long submitStream(JobSpec spec, InputStream ndjson, String user) {
    NdjsonItems reader = new NdjsonItems(json, (int) limits.itemLine().toBytes());
    return submit(spec, "ITEMS", writer -> reader.read(ndjson, writer::item), user);
  }

  long submitCsv(JobSpec spec, InputStream csv, boolean header, String user) {
    CsvItems reader = new CsvItems(json, (int) limits.itemLine().toBytes());
    return submit(spec, "ITEMS", writer -> reader.read(csv, header, writer::item), user);
  }

  /**
   * The commit a job runs: its pinned commit (resolved to a full id), or the release current when batches are
   * claimed; without either there is nothing to run.
   */
  private String pinnedCommit(JobSpec spec) {
    if (spec.commit() != null) {
      return code.resolveCommit(spec.commit())
          .map(org.eclipse.jgit.lib.ObjectId::name)
          .orElseThrow(
              () ->
                  ProblemException.badRequest(
                      "commit " + spec.commit() + " is not in /git/code.git: push it first, or leave commit out"
                          + " to run the current release"));
    }
    if (releases.current().isEmpty()) {
      throw ProblemException.conflict("no code promoted yet: push to /git/code.git and promote");
    }
    return null;
  }

  /** Everything in one transaction: a job exists with all its batches, or not at all. */
  private long submit(JobSpec spec, String inputKind, Consumer<BatchWriter> input, String user) {
    String pinned = pinnedCommit(spec);
    Instant now = clock.instant();
    long jobId =
        tx.once(
            () -> {
              GeneratedKeyHolder keys = new GeneratedKeyHolder();
              jdbc.sql(
                      """
                      INSERT INTO job (name, command, state, priority, batch_size, max_attempts, timeout_seconds,
                        max_parallel, env, labels, commit_sha, input_kind, item_count, batch_count, pending_count,
                        submitted_by, created_at, updated_at, max_data_lag_seconds, min_data_position,
                        retention_seconds, secrets, secret_names, entry_point, entry_args)
                      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")
                  .params(
                      spec.name(),
                      spec.command(),
                      JobState.QUEUED.name(),
                      spec.priority(),
                      spec.batchSize(),
                      spec.maxAttempts(),
                      spec.timeoutSeconds(),
                      spec.maxParallel(),
                      json.writeValueAsString(spec.env()),
                      json.writeValueAsString(spec.labels()),
                      pinned,
                      inputKind,
                      user,
                      Times.db(now),
                      Times.db(now),
                      spec.maxDataLagSeconds(),
                      spec.minDataPosition(),
                      spec.retention() == null ? null : spec.retention().toSeconds(),
                      secrets.seal(spec.secrets()),
                      spec.secrets().isEmpty() ? null : json.writeValueAsString(JobSecrets.names(spec.secrets())),
                      spec.entryPoint(),
                      spec.args() == null ? null : json.writeValueAsString(spec.args()))
                  .update(keys);
              long id = keys.getKey().longValue();
              BatchWriter writer =
                  new BatchWriter(
                      template, id, spec.batchSize(), limits.batchInput().toBytes(), limits.batchesPerJob(), now);
              input.accept(writer);
              writer.finish();
              if (writer.batches() == 0) {
                throw ProblemException.badRequest("the upload holds no items: send one JSON value per line (NDJSON), or a header row and"
                    + " rows (CSV)");
              }
              jdbc.sql("UPDATE job SET item_count = ?, batch_count = ?, pending_count = ? WHERE id = ?")
                  .params(writer.items(), writer.batches(), writer.batches(), id)
                  .update();
              // In the transaction: the other server instances' signal is its last statement (no commit of its
              // own on the way to the lease), and parked claims here are woken once it has committed.
              events.publishEvent(new WorkAvailable("job " + id + " submitted"));
              return id;
            });
    log.info("job {} '{}' submitted by {}", jobId, dev.nightshift.server.system.Text.printable(spec.name()), user);
    return jobId;
  }

  private JobState lockState(long jobId) {
    return jdbc.sql("SELECT state FROM job WHERE id = ? FOR UPDATE")
        .param(jobId)
        .query(String.class)
        .optional()
        .map(JobState::valueOf)
        .orElseThrow(() -> ProblemException.notFound("job", jobId));
  }

  private void setState(long jobId, JobState to, boolean finished) {
    Instant now = clock.instant();
    jdbc.sql(
            "UPDATE job SET state = ?, updated_at = ?, finished_at = "
                + (finished ? "?" : "NULL")
                + " WHERE id = ?")
        .params(finished ? new Object[] {to.name(), Times.db(now), Times.db(now), jobId}
            : new Object[] {to.name(), Times.db(now), jobId})
        .update();
  }

  private static ProblemException refused(long jobId, JobState from, String action) {
    return ProblemException.conflict("job " + jobId + " is " + from + " and cannot be " + action);
  }

  public void cancel(long jobId) {
    tx.run(
        () -> {
          JobState state = lockState(jobId);
          if (state == JobState.CANCELLED) {
            return;
          }
          if (!JobTransitions.allowed(state, JobState.CANCELLED)) {
            throw refused(jobId, state, "cancelled");
          }
          setState(jobId, JobState.CANCELLED, true);
        });
    int n = sweeps.cancelBatches(jobId);
    log.info("job {} cancelled ({} batch(es) cancelled)", jobId, n);
  }

  public void pause(long jobId) {
    tx.run(
        () -> {
          JobState state = lockState(jobId);
          if (state == JobState.PAUSED) {
            return;
          }
          if (!JobTransitions.allowed(state, JobState.PAUSED)) {
            throw refused(jobId, state, "paused");
          }
          setState(jobId, JobState.PAUSED, false);
        });
  }

  public void resume(long jobId) {
    tx.run(
        () -> {
          JobState state = lockState(jobId);
          if (state == JobState.QUEUED || state == JobState.RUNNING) {
            return;
          }
          if (state != JobState.PAUSED) {
            throw refused(jobId, state, "resumed (only a PAUSED job can be)");
          }
          boolean started =
              jdbc.sql("SELECT started_at IS NOT NULL FROM job WHERE id = ?")
                  .param(jobId)
                  .query(Boolean.class)
                  .single();
          setState(jobId, started ? JobState.RUNNING : JobState.QUEUED, false);
          events.publishEvent(new WorkAvailable("job " + jobId + " resumed")); // after the commit (see submit)
        });
  }

  /** Puts DEAD batches back to PENDING; a FAILED job runs again. */
  public int retry(long jobId) {
    tx.run(
        () -> {
          JobState state = lockState(jobId);
          if (state == JobState.CANCELLED || state == JobState.SUCCEEDED) {
            throw refused(jobId, state, "retried");
          }
          if (jdbc.sql("SELECT purged_at IS NOT NULL FROM job WHERE id = ?").param(jobId).query(Boolean.class).single()) {
            throw ProblemException.conflict(
                "job " + jobId + " was purged (its retention period ended): its batches are gone; submit it again");
          }
          int dead =
              jdbc.sql("SELECT dead_count FROM job WHERE id = ?").param(jobId).query(Integer.class).single();
          if (dead == 0) {
            throw ProblemException.conflict("job " + jobId + " has no dead batches to retry");
          }
          if (state == JobState.FAILED) {
            setState(jobId, JobState.RUNNING, false);
          }
        });
    int n = sweeps.retryDead(jobId);
    log.info("job {}: {} dead batch(es) back to pending", jobId, n);
    return n;
  }
}
