package dev.nightshift.server.batches;

import dev.nightshift.protocol.BatchInput;
import dev.nightshift.protocol.Lease;
import dev.nightshift.server.security.Tokens;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Hands pending batches to a worker. Per job, one short READ COMMITTED transaction: pick pending batches in id
 * order through the claim index with {@code FOR UPDATE SKIP LOCKED} (claimers never wait on each other's rows),
 * lease them by primary key with a fresh random token, record an attempt for each, and last lock the job row to
 * check its state and {@code maxParallel} and move its counters. Zero rows is a normal answer.
 */
@Service
public class ClaimService {
  private static final Logger log = LoggerFactory.getLogger(ClaimService.class);
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final int CANDIDATE_JOBS = 200;

  private final JdbcClient jdbc;
  private final JdbcTemplate template;
  private final Transactions tx;
  private final JobCounters counters;
  private final Clock clock;
  private final JsonMapper json;
  private final Duration leaseDuration;
  private final CodeResolver code;

  ClaimService(
      JdbcClient jdbc,
      JdbcTemplate template,
      Transactions tx,
      JobCounters counters,
      Clock clock,
      JsonMapper json,
      NightshiftProperties properties,
      CodeResolver code) {
    this.jdbc = jdbc;
    this.template = template;
    this.tx = tx;
    this.counters = counters;
    this.clock = clock;
    this.json = json;
    this.leaseDuration = properties.lease().duration();
    this.code = code;
  }

  /** A job that may have claimable batches, as seen without locks. */
  record Candidate(long id, Map<String, String> labels, Integer maxParallel, int leased) {
    boolean fits(Map<String, String> workerLabels) {
      return labels.entrySet().stream().allMatch(e -> e.getValue().equals(workerLabels.get(e.getKey())));
    }
  }

  /** Jobs with pending batches, highest priority first, then oldest. Read without locks; cheap (job table). */
  List<Candidate> candidates() {
    return jdbc.sql(
            """
            SELECT id, labels, max_parallel, leased_count FROM job
            WHERE state IN ('QUEUED', 'RUNNING') AND pending_count > 0
            ORDER BY priority DESC, id LIMIT ?""")
        .param(CANDIDATE_JOBS)
        .query(
            (rs, n) ->
                new Candidate(
                    rs.getLong(1),
                    json.readValue(rs.getString(2), STRING_MAP),
                    (Integer) rs.getObject(3, Integer.class),
                    rs.getInt(4)))
        .list();
  }

  /** What a claim needs to know about the worker: its labels, and whether an admin drained it. */
  record Claimant(Map<String, String> labels, boolean drained) {}

  /** One read of the worker row per claim. */
  Claimant claimant(String workerId) {
    return jdbc.sql("SELECT labels, drained_at IS NOT NULL FROM worker WHERE id = ?")
        .param(workerId)
        .query((rs, n) -> new Claimant(json.readValue(rs.getString(1), STRING_MAP), rs.getBoolean(2)))
        .optional()
        .orElse(new Claimant(Map.of(), false));
  }

  /** Leases up to {@code max} batches to the worker; empty when there is nothing it can run now. */
  public List<Lease> claim(String workerId, int max) {
    return claim(workerId, claimant(workerId).labels(), max, candidates());
  }

  List<Lease> claim(String workerId, Map<String, String> labels, int max, List<Candidate> candidates) {
    List<Lease> leases = new ArrayList<>();
    for (Candidate job : candidates) {
      if (leases.size() >= max) {
        break;
      }
      if (!job.fits(labels) || (job.maxParallel() != null && job.leased() >= job.maxParallel())) {
        continue;
      }
      int want = max - leases.size();
      leases.addAll(tx.inTransaction(() -> claimFromJob(job.id(), workerId, want)));
    }
    return leases;
  }

  private record Picked(long id, int seq, int itemCount, Long rangeStart, Long rangeEnd, int attempt) {}

  private record JobRow(
      String state,
      Integer maxParallel,
      int leased,
      String command,
      int timeoutSeconds,
      String env,
      String commit,
      String inputKind) {}

  /** Thrown inside a claim transaction to roll it back: the job stopped being claimable meanwhile. */
  private static final class NotClaimable extends RuntimeException {
    NotClaimable() {
      super(null, null, false, false);
    }
  }

  private List<Lease> claimFromJob(long jobId, String workerId, int want) {
    try {
      return claimFromJobOrRollBack(jobId, workerId, want);
    } catch (NotClaimable e) {
      return List.of();
    }
  }

  /**
   * Lock order is batch rows, then the job row, in every transaction of the server: the job row is locked last,
   * after the batches are leased, so a transaction holding a job lock never waits for a batch or index lock.
   */
  private List<Lease> claimFromJobOrRollBack(long jobId, String workerId, int want) {
    Instant now = clock.instant();
    JobRow job =
        jdbc.sql(
                """
                SELECT state, max_parallel, leased_count, command, timeout_seconds, env, commit_sha, input_kind
                FROM job WHERE id = ?""")
            .param(jobId)
            .query(
                (rs, n) ->
                    new JobRow(
                        rs.getString(1),
                        rs.getObject(2, Integer.class),
                        rs.getInt(3),
                        rs.getString(4),
                        rs.getInt(5),
                        rs.getString(6),
                        rs.getString(7),
                        rs.getString(8)))
            .optional()
            .orElse(null);
    if (job == null || !claimable(job.state)) {
      return List.of();
    }
    int limit = job.maxParallel == null ? want : Math.min(want, job.maxParallel - job.leased);
    if (limit <= 0) {
      return List.of();
    }
    List<Picked> picked =
        template.query(
            """
            SELECT id, seq, item_count, range_start, range_end, attempts FROM batch FORCE INDEX (ix_batch_claim)
            WHERE job_id = ? AND state = 'PENDING' AND not_before <= ?
            ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED""",
            (ResultSet rs, int n) ->
                new Picked(
                    rs.getLong(1),
                    rs.getInt(2),
                    rs.getInt(3),
                    rs.getObject(4, Long.class),
                    rs.getObject(5, Long.class),
                    rs.getInt(6) + 1),
            jobId,
            Times.db(now),
            limit);
    if (picked.isEmpty()) {
      return List.of();
    }
    CodeResolver.Code run = code.codeFor(job.commit);
    Instant expires = now.plus(leaseDuration);
    // A lease can be renewed at most until the batch's timeout (plus two lease periods of slack) has passed.
    Instant deadline = now.plusSeconds(job.timeoutSeconds).plus(leaseDuration.multipliedBy(2));
    List<String> tokens = new ArrayList<>(picked.size());
    List<Object[]> batchRows = new ArrayList<>(picked.size());
    List<Object[]> attemptRows = new ArrayList<>(picked.size());
    for (Picked p : picked) {
      String token = Tokens.random();
      tokens.add(token);
      batchRows.add(
          new Object[] {
            workerId, token, Times.db(now), Times.db(expires), Times.db(deadline), p.attempt, p.id
          });
      attemptRows.add(
          new Object[] {p.id, jobId, p.attempt, workerId, token, Times.db(now), run.commit(), run.version()});
    }
    template.batchUpdate(
        """
        UPDATE batch SET state = 'LEASED', worker_id = ?, lease_token = ?, leased_at = ?, lease_expires_at = ?,
          lease_deadline = ?, attempts = ? WHERE id = ?""",
        batchRows);
    template.batchUpdate(
        """
        INSERT INTO attempt (batch_id, job_id, number, worker_id, lease_token, outcome, claimed_at, commit_sha, version)
        VALUES (?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?)""",
        attemptRows);
    Map<Integer, String> items = job.inputKind.equals("ITEMS") ? loadItems(jobId, picked) : Map.of();

    // Last lock: the job row. Under it, re-check what the unlocked read saw; roll back if it changed.
    JobRow locked =
        jdbc.sql("SELECT state, max_parallel, leased_count FROM job WHERE id = ? FOR UPDATE")
            .param(jobId)
            .query((rs, n) -> new JobRow(rs.getString(1), rs.getObject(2, Integer.class), rs.getInt(3), null, 0,
                null, null, null))
            .single();
    if (!claimable(locked.state)
        || (locked.maxParallel != null && locked.leased + picked.size() > locked.maxParallel)) {
      throw new NotClaimable();
    }
    jdbc.sql(
            """
            UPDATE job SET pending_count = pending_count - ?, leased_count = leased_count + ?,
              state = CASE WHEN state = 'QUEUED' THEN 'RUNNING' ELSE state END,
              started_at = COALESCE(started_at, ?), updated_at = ?
            WHERE id = ?""")
        .params(picked.size(), picked.size(), Times.db(now), Times.db(now), jobId)
        .update();

    Map<String, String> env = json.readValue(job.env, STRING_MAP);
    List<Lease> leases = new ArrayList<>(picked.size());
    for (int i = 0; i < picked.size(); i++) {
      Picked p = picked.get(i);
      BatchInput input =
          p.rangeStart != null
              ? new BatchInput(null, p.itemCount, p.rangeStart, p.rangeEnd)
              : new BatchInput(items.get(p.seq), p.itemCount, null, null);
      leases.add(
          new Lease(
              p.id,
              jobId,
              p.attempt,
              tokens.get(i),
              expires,
              run.commit(),
              run.version(),
              job.command,
              job.timeoutSeconds,
              input,
              env));
    }
    log.debug("leased {} batch(es) of job {} to worker {}", leases.size(), jobId, workerId);
    return leases;
  }

  private static boolean claimable(String state) {
    return state.equals("QUEUED") || state.equals("RUNNING");
  }

  private Map<Integer, String> loadItems(long jobId, List<Picked> picked) {
    String marks = picked.stream().map(p -> "?").collect(Collectors.joining(","));
    List<Object> args = new ArrayList<>();
    args.add(jobId);
    picked.forEach(p -> args.add(p.seq));
    Map<Integer, String> items = new HashMap<>();
    template.query(
        "SELECT seq, items FROM batch_input WHERE job_id = ? AND seq IN (" + marks + ")",
        (ResultSet rs) -> {
          items.put(rs.getInt(1), rs.getString(2));
        },
        args.toArray());
    return items;
  }
}
