package dev.nightshift.server.workers;

import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.InstructionType;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.batches.LeaseService;
import dev.nightshift.server.code.ReleaseService;
import dev.nightshift.server.security.Tokens;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Text;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import tools.jackson.databind.json.JsonMapper;

/** Enrolls agents and takes their heartbeats. */
@Service
public class WorkerService {
  /** When a worker of this name was last revoked (name), from {@code ix_worker_name}. */
  public static final String REVOKED_BY_NAME =
      "SELECT MAX(revoked_at) AS revoked_at FROM worker WHERE name = ? AND revoked_at IS NOT NULL";

  private static final Logger log = LoggerFactory.getLogger(WorkerService.class);
  static final int MAX_SLOTS = 256;
  private final JdbcClient jdbc;
  private final dev.nightshift.server.system.Transactions tx;
  private final EnrollmentService enrollment;
  private final LeaseService leases;
  private final dev.nightshift.server.batches.ClaimDispatcher dispatcher;
  private final ReleaseService releases;
  private final Clock clock;
  private final JsonMapper json;
  private final NightshiftProperties properties;
  private final java.util.Set<String> reservedLabels;

  private volatile boolean enrollmentApproval;
  /** Which agent build a heartbeat reply offers (self-update); null: none is offered. */
  private dev.nightshift.server.install.AgentRollout agentRollout;

  @org.springframework.beans.factory.annotation.Autowired
  void useAgentRollout(dev.nightshift.server.install.AgentRollout rollout) {
    this.agentRollout = rollout;
  }

  /** Turns the approval of new enrollments on or off at run time (tests; a setting otherwise). */
  public void requireEnrollmentApproval(boolean required) {
    this.enrollmentApproval = required;
  }

  WorkerService(
      JdbcClient jdbc,
      EnrollmentService enrollment,
      LeaseService leases,
      dev.nightshift.server.batches.ClaimDispatcher dispatcher,
      ReleaseService releases,
      Clock clock,
      JsonMapper json,
      NightshiftProperties properties,
      dev.nightshift.server.security.SecurityProperties security,
      dev.nightshift.server.system.Transactions tx) {
    this.tx = tx;
    this.reservedLabels = java.util.Set.copyOf(security.reservedLabels());
    this.enrollmentApproval = security.enrollmentApproval();
    this.jdbc = jdbc;
    this.enrollment = enrollment;
    this.leases = leases;
    this.dispatcher = dispatcher;
    this.releases = releases;
    this.clock = clock;
    this.json = json;
    this.properties = properties;
  }

  public RegisterResponse register(RegisterRequest r) {
    if (r == null) {
      throw ProblemException.badRequest("send a registration as JSON");
    }
    // One transaction, tried again after a lost lock race or (on a Galera cluster) a certification conflict: the
    // use counted on the enrollment token and the worker row are written together or not at all.
    return tx.inTransaction(() -> enroll(r));
  }

  private RegisterResponse enroll(RegisterRequest r) {
    Instant tokenCreated = enrollment.redeem(r.enrollmentToken());
    List<String> errors = new ArrayList<>();
    if (r.slots() < 1 || r.slots() > MAX_SLOTS) {
      errors.add("slots must be between 1 and " + MAX_SLOTS + " (got " + r.slots() + ")");
    }
    Map<String, String> labels = new java.util.LinkedHashMap<>(r.labels() == null ? Map.of() : r.labels());
    checkLabels(labels, errors);
    HostFacts host = r.host() == null ? new HostFacts(null, null, null, 0, 0, null, null) : r.host();
    String name = r.name() != null && !r.name().isBlank() ? r.name() : host.hostname();
    if (name == null || name.isBlank()) {
      errors.add("name is required (the agent sends its host name by default)");
    } else if (name.length() > 200) {
      errors.add("name must be at most 200 characters");
    } else if (Text.nameProblem("name", name) != null) {
      errors.add(Text.nameProblem("name", name));
    }
    if (!errors.isEmpty()) {
      throw ProblemException.badRequest(String.join("; ", errors));
    }
    List<String> dropped = labels.keySet().stream().filter(reservedLabels::contains).sorted().toList();
    if (!dropped.isEmpty()) {
      labels.keySet().removeAll(dropped);
      log.warn("worker {} declared the reserved label(s) {}: ignored; only an admin gives them"
          + " (PUT /api/v1/workers/{id}/labels)", Text.printable(name), Text.printable(dropped));
    }
    // A revoked worker does not come back by itself: its name enrolls again only with an enrollment token an admin
    // created after the revocation (not with the standing one it was installed with).
    Instant revoked =
        jdbc.sql(REVOKED_BY_NAME)
            .params(name)
            .query((rs, n) -> Times.instant(rs, "revoked_at"))
            .optional()
            .orElse(null);
    if (revoked != null && !tokenCreated.isAfter(revoked)) {
      log.warn("refused to enroll a worker named {} again: it was revoked at {}", Text.printable(name), revoked);
      throw new ProblemException(
          org.springframework.http.HttpStatus.FORBIDDEN,
          "Enrollment refused",
          "a worker named '" + name + "' was revoked at " + revoked + ": it may enroll again only with an enrollment"
              + " token an admin creates after that (POST /api/v1/enrollment-tokens)");
    }
    String id = UUID.randomUUID().toString();
    String token = Tokens.newToken(Tokens.AGENT);
    Instant now = clock.instant();
    boolean awaitsApproval = enrollmentApproval;
    jdbc.sql(
            """
            INSERT INTO worker (id, name, token_hash, hostname, os, arch, cpus, memory_bytes, agent_version,
              java_version, labels, slots, free_slots, state, state_reason, registered_at, last_heartbeat_at,
              approval_pending_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'IDLE', 'just enrolled', ?, ?, ?)""")
        .params(
            id,
            name,
            Tokens.sha256(token),
            cut(host.hostname(), 255),
            cut(host.os(), 200),
            cut(host.arch(), 50),
            host.cpus(),
            host.memoryBytes(),
            cut(host.agentVersion(), 100),
            cut(host.javaVersion(), 100),
            json.writeValueAsString(labels),
            r.slots(),
            r.slots(),
            Times.db(now),
            Times.db(now),
            awaitsApproval ? Times.db(now) : null)
        .update();
    log.info("enrolled worker {} ({}) with {} slot(s){}", Text.printable(name), id, r.slots(),
        awaitsApproval ? "; it claims nothing until an admin approves it (POST /api/v1/workers/" + id + "/approve)"
            : "");
    return new RegisterResponse(
        id,
        token,
        properties.lease().heartbeatInterval().toMillis(),
        properties.lease().duration().toMillis());
  }

  public HeartbeatResponse heartbeat(String workerId, HeartbeatRequest r) {
    return heartbeat(workerId, null, r);
  }

  /**
   * Records a heartbeat; {@code instance} (the agent process's id header) also refreshes when this process was last
   * seen using the identity, in the same statement, so other calls of a live agent need not write the worker row.
   */
  public HeartbeatResponse heartbeat(String workerId, String instance, HeartbeatRequest r) {
    Instant now = clock.instant();
    WorkerState state = r.state() == null ? WorkerState.IDLE : r.state();
    dev.nightshift.protocol.DataState data = clean(r.data());
    tx.run(() -> jdbc.sql(
            """
            UPDATE worker SET state = ?, state_reason = ?, slots = ?, free_slots = ?,
              commit_sha = COALESCE(?, commit_sha), last_heartbeat_at = ?,
              instance_seen_at = CASE WHEN instance_id = ? THEN ? ELSE instance_seen_at END,
              data_state = ?, data_checked_at = ?,
              agent_version = COALESCE(?, agent_version), agent_refused = CASE WHEN ? THEN ? ELSE agent_refused END
            WHERE id = ?""")
        .params(
            state.name(),
            cut(r.reason(), 500),
            Math.max(0, r.slots()),
            Math.max(0, r.freeSlots()),
            cut(r.commit(), 64),
            Times.db(now),
            instance == null ? "" : cut(instance, 64),
            Times.db(now),
            data == null ? null : json.writeValueAsString(data),
            data == null ? null : Times.db(now),
            cut(r.agentVersion(), 100),
            r.agentVersion() != null, // an agent that names its version says whether it refused one (null: none)
            cut(r.agentRefused(), 100),
            workerId)
        .update());
    if (state != WorkerState.OFFLINE) {
      dispatcher.dataReported(workerId, data);
    }
    List<Instruction> instructions;
    Standing standing = standing(workerId, instance);
    String drainedBy = standing.drainedBy();
    if (state == WorkerState.OFFLINE) {
      // The agent is stopping: no parked claim of its may be answered, and what it does not hold is requeued now.
      dispatcher.dropWaiters(workerId);
      instructions = leases.renew(workerId, r.leases(), java.time.Duration.ZERO);
      // Another process may use this identity at once (the same agent restarting, with a new instance id).
      tx.run(() -> jdbc.sql("UPDATE worker SET instance_id = NULL WHERE id = ?").param(workerId).update());
      log.info("worker {} is going offline: {}", workerId, Text.printable(r.reason()));
    } else {
      instructions = new ArrayList<>(leases.renew(workerId, r.leases(), standing.instanceSince()));
      if (standing.approvalPending()) {
        instructions.add(Instruction.of(InstructionType.DRAIN, "awaiting an admin's approval of this enrollment"
            + " (the dashboard's Workers page, or POST /api/v1/workers/" + workerId + "/approve)"));
      } else if (drainedBy != null) {
        instructions.add(Instruction.of(InstructionType.DRAIN, "drained by " + drainedBy));
      } else if (state == WorkerState.DRAINING) {
        instructions.add(Instruction.of(InstructionType.RESUME, "not drained (any more)"));
      }
    }
    return new HeartbeatResponse(
        now,
        properties.lease().heartbeatInterval().toMillis(),
        instructions,
        releases.current().map(ReleaseService.Release::toProtocol).orElse(null),
        state == WorkerState.OFFLINE || agentRollout == null
            ? null
            : agentRollout.offerFor(workerId, r.agentVersion(), r.agentRefused()));
  }

  /** The reported reference data with its texts cut to what the columns and pages hold. */
  private static dev.nightshift.protocol.DataState clean(dev.nightshift.protocol.DataState d) {
    if (d == null) {
      return null;
    }
    return new dev.nightshift.protocol.DataState(
        d.replicating(), d.lagSeconds(), cut(d.position(), dev.nightshift.protocol.DataState.MAX_POSITION),
        cut(d.error(), 500));
  }

  /** Who drained the worker, or null when it is not drained (or does not exist). */
  /**
   * Who drained the worker (null: not drained), and since when the calling agent process uses the identity (null:
   * unknown, or another process does).
   */
  private record Standing(String drainedBy, Instant instanceSince, boolean approvalPending) {}

  private Standing standing(String workerId, String instance) {
    return jdbc.sql(
            "SELECT drained_by, drained_at, instance_id, instance_taken_at, approval_pending_at FROM worker WHERE id = ?")
        .param(workerId)
        .query(
            (rs, n) ->
                new Standing(
                    rs.getTimestamp(2) == null ? null : rs.getString(1),
                    instance != null && instance.equals(rs.getString(3))
                        ? Times.instant(rs, "instance_taken_at")
                        : null,
                    rs.getTimestamp(5) != null))
        .optional()
        .orElse(new Standing(null, null, false));
  }

  /**
   * Sets a worker's labels, as an admin: the only way to give a reserved label ({@code
   * NIGHTSHIFT_SECURITY_RESERVED_LABELS}). Replaces the whole map; claims see it at the worker's next call.
   */
  public void setLabels(String workerId, Map<String, String> labels) {
    List<String> errors = new ArrayList<>();
    checkLabels(labels, errors);
    if (!errors.isEmpty()) {
      throw ProblemException.badRequest(String.join("; ", errors));
    }
    int n = jdbc.sql("UPDATE worker SET labels = ? WHERE id = ?").params(json.writeValueAsString(labels), workerId)
        .update();
    if (n == 0) {
      throw ProblemException.notFound("worker", workerId);
    }
    log.info("labels of worker {} set to {}", workerId, Text.printable(labels));
  }

  /** Adds what is wrong with each label to {@code errors}. */
  private static void checkLabels(Map<String, String> labels, List<String> errors) {
    labels.forEach(
        (k, v) -> {
          if (k == null || !k.matches("[A-Za-z0-9_.-]{1,64}") || v == null || v.length() > 200) {
            errors.add("label '" + k + "' is not valid: keys are 1-64 letters, digits, '_', '.', '-'; values 0-200"
                + " characters");
          } else if (Text.nameProblem("label '" + k + "'", v) != null) {
            errors.add(Text.nameProblem("label '" + k + "'", v));
          }
        });
  }

  /**
   * Orders the worker to finish its running batches and claim no new ones: its parked claims are answered empty
   * now, later claims too, and every heartbeat reply carries DRAIN until {@link #resume}. Repeats are harmless.
   */
  public void drain(String workerId, String user) {
    int n =
        jdbc.sql("UPDATE worker SET drained_at = COALESCE(drained_at, ?), drained_by = COALESCE(drained_by, ?) WHERE id = ?")
            .params(Times.db(clock.instant()), cut(user, 100), workerId)
            .update();
    if (n == 0) {
      throw ProblemException.notFound("worker", workerId);
    }
    dispatcher.dropWaiters(workerId);
    log.info("worker {} drained by {}", workerId, user);
  }

  /**
   * Revokes the worker: its token fails at once (every call 401, also Git fetches), its parked claims are answered
   * empty and its leases are requeued at once. The worker stays listed as DISABLED. Repeats are harmless.
   */
  public void revoke(String workerId, String user) {
    int n =
        jdbc.sql(
                "UPDATE worker SET revoked_at = COALESCE(revoked_at, ?), revoked_by = COALESCE(revoked_by, ?),"
                    + " instance_id = NULL WHERE id = ?")
            .params(Times.db(clock.instant()), cut(user, 100), workerId)
            .update();
    if (n == 0) {
      throw ProblemException.notFound("worker", workerId);
    }
    dispatcher.dropWaiters(workerId);
    int released = leases.releaseAll(workerId, "worker revoked by " + user);
    log.info("worker {} revoked by {}; {} lease(s) requeued", workerId, user, released);
  }

  /**
   * Approves a worker enrolled while approval was required ({@code nightshift.security.enrollment-approval}): it
   * claims from its next call on (its next heartbeat reply says RESUME unless an admin also drained it). Repeats
   * are harmless; a revoked worker cannot be approved (it must enroll again).
   */
  public void approve(String workerId, String user) {
    Instant now = clock.instant();
    Boolean revoked =
        jdbc.sql("SELECT revoked_at IS NOT NULL FROM worker WHERE id = ?").param(workerId).query(Boolean.class)
            .optional().orElseThrow(() -> ProblemException.notFound("worker", workerId));
    if (revoked) {
      throw ProblemException.conflict("worker " + workerId + " is revoked: it cannot be approved; the agent must"
          + " enroll again with an enrollment token created after the revocation");
    }
    int n =
        jdbc.sql("UPDATE worker SET approval_pending_at = NULL, approved_at = ?, approved_by = ?"
                + " WHERE id = ? AND approval_pending_at IS NOT NULL")
            .params(Times.db(now), cut(user, 100), workerId)
            .update();
    if (n > 0) {
      log.info("worker {} approved by {}", workerId, user);
    }
  }

  /** Undoes {@link #drain}: the next heartbeat reply says RESUME. Repeats are harmless. */
  public void resume(String workerId, String user) {
    Boolean pending =
        jdbc.sql("SELECT approval_pending_at IS NOT NULL FROM worker WHERE id = ?").param(workerId)
            .query(Boolean.class).optional().orElse(false);
    if (pending) {
      throw ProblemException.conflict("worker " + workerId + " awaits an admin's approval of its enrollment, not a"
          + " resume: approve it (POST /api/v1/workers/" + workerId + "/approve)");
    }
    int n =
        jdbc.sql("UPDATE worker SET drained_at = NULL, drained_by = NULL WHERE id = ?").param(workerId).update();
    if (n == 0) {
      throw ProblemException.notFound("worker", workerId);
    }
    log.info("worker {} resumed by {}", workerId, user);
  }

  private static String cut(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max);
  }
}
