package dev.nightshift.agent.loop;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.idle.ProbePolicy;
import dev.nightshift.agent.system.DaemonThreads;
import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.WorkerState;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The heartbeat thread: renews every held lease at the interval the server names, says what the agent does, hands
 * the reply to {@link Instructions}, and re-checks the idle policy every {@code idleRecheck} (also while the loop
 * long-polls). The last heartbeat, OFFLINE, goes out at shutdown.
 */
final class Heartbeats {
  private static final Logger LOG = Logger.getLogger(Heartbeats.class.getName());
  /** Shortest delay between two beats, whatever the server says. */
  static final long MIN_DELAY_MILLIS = 100;
  /** Longest delay between two beats while the agent is not enrolled yet. */
  static final long UNENROLLED_DELAY_MILLIS = 1_000;

  /** What a heartbeat says about the rest of the agent, asked as each one is built. */
  interface Agent {
    boolean stopping();

    /** The verdict of the last idle check; null before the first. */
    IdleVerdict lastVerdict();

    int running();

    int suspended();

    int free();

    /** Every lease held: running, and finished but not yet answered. */
    List<LeaseRef> heldLeases();

    /** The release commit most recently checked out; null without code distribution. */
    String currentCommit();

    /** The periodic idle re-check, on the heartbeat thread. */
    void recheckIdle();

    /** The running agent's version; null: not said. */
    default String agentVersion() {
      return null;
    }

    /** The agent version the launcher rolled back; null: none. */
    default String agentRefused() {
      return null;
    }

    /** The agent version this agent restarts into once its batches finish; null: none staged. */
    default String updatingTo() {
      return null;
    }

    /** The reference-data database as last probed (never probes); null without a data source. */
    default dev.nightshift.protocol.DataState data() {
      return null;
    }
  }

  private final AgentProtocol protocol;
  private final Enrollment enrollment;
  private final Instructions instructions;
  private final LoopConfig config;
  private final Agent agent;
  private volatile long everyMillis;
  private ScheduledExecutorService executor; // guarded by this

  Heartbeats(AgentProtocol protocol, Enrollment enrollment, Instructions instructions, LoopConfig config, Agent agent) {
    this.protocol = protocol;
    this.enrollment = enrollment;
    this.instructions = instructions;
    this.config = config;
    this.agent = agent;
    this.everyMillis = config.heartbeat().toMillis();
  }

  /** Heartbeats go out this often from the next one on (the server names the interval). */
  void every(long millis) {
    everyMillis = millis;
  }

  long everyMillis() {
    return everyMillis;
  }

  /** Starts the heartbeat thread once; the first beat goes out at once. */
  synchronized void start() {
    if (executor != null) {
      return;
    }
    executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("nightshift-heartbeat"));
    executor.schedule(this::beatAndReschedule, 0, TimeUnit.MILLISECONDS);
    long recheck = Math.max(MIN_DELAY_MILLIS, config.idleRecheck().toMillis());
    executor.scheduleWithFixedDelay(
        () -> {
          if (!agent.stopping()) {
            agent.recheckIdle(); // the owner's return suspends batches even while the loop long-polls
          }
        },
        recheck, recheck, TimeUnit.MILLISECONDS);
  }

  private void beatAndReschedule() {
    if (agent.stopping()) {
      return;
    }
    long next = spread(beat());
    try {
      synchronized (this) {
        executor.schedule(this::beatAndReschedule, next, TimeUnit.MILLISECONDS);
      }
    } catch (RuntimeException e) {
      // shut down
    }
  }

  /**
   * A heartbeat delay shortened by up to a tenth at random, so a fleet that started at once (a power cut, a server
   * restart, an agent rollout) drifts apart instead of beating in the same instant every interval. Never longer
   * than the interval: the server expects a beat within it.
   */
  static long spread(long delayMillis) {
    return delayMillis - java.util.concurrent.ThreadLocalRandom.current().nextLong(delayMillis / 10 + 1);
  }

  /**
   * One step of the heartbeat thread: a heartbeat when the agent is enrolled (not before: the loop enrolls it).
   * Returns how long to wait for the next step, in milliseconds.
   */
  long beat() {
    long next = everyMillis;
    if (enrollment.current().isEmpty()) {
      next = Math.min(next, UNENROLLED_DELAY_MILLIS);
    } else {
      beatOnce();
      next = everyMillis;
    }
    return Math.max(MIN_DELAY_MILLIS, next);
  }

  /** Sends one heartbeat naming every held lease and acts on the reply's instructions. Never throws. */
  void beatOnce() {
    Identity id = enrollment.current().orElse(null);
    if (id == null) {
      return;
    }
    try {
      instructions.heartbeatAnswered(protocol.heartbeat(request()));
    } catch (ProtocolException e) {
      if (e.isUnauthorized()) {
        enrollment.refused(id);
      } else {
        LOG.warning("heartbeat failed: " + e.getMessage());
      }
    } catch (Throwable t) {
      LOG.log(Level.WARNING, "heartbeat failed unexpectedly", t);
    }
  }

  /** The heartbeat as it would be sent now. */
  HeartbeatRequest request() {
    int running = agent.running();
    WorkerState state;
    String reason;
    IdleVerdict v = agent.lastVerdict();
    String drain = instructions.drainingBecause();
    String updatingTo = agent.updatingTo();
    if (agent.stopping()) {
      state = WorkerState.DRAINING;
      reason = "agent shutting down";
    } else if (drain != null) {
      state = WorkerState.DRAINING;
      reason = drain;
    } else if (updatingTo != null) {
      state = WorkerState.DRAINING;
      reason = "updating to agent " + updatingTo + ": claims nothing, restarts once its " + running
          + " running batch(es) finish";
    } else if (v != null && !v.run()) {
      state = v.state();
      reason = v.reason();
      int suspended = agent.suspended();
      if (suspended > 0) {
        reason += "; " + suspended + " batch(es) suspended, vacated after " + ProbePolicy.human(config.vacateAfter());
      }
    } else if (running > 0) {
      state = WorkerState.BUSY;
      reason = "running " + running + " of " + config.slots() + " slots";
    } else {
      state = WorkerState.IDLE;
      reason = "waiting for work";
    }
    return new HeartbeatRequest(
        state, reason, config.slots(), agent.free(), agent.heldLeases(), agent.currentCommit(), agent.data(),
        agent.agentVersion(), agent.agentRefused());
  }

  /**
   * Stops the heartbeat thread after the final heartbeat, state OFFLINE: the server answers this agent's parked
   * long-poll claim with nothing (so no batch is handed to a process that is gone) and requeues at once any lease
   * this heartbeat does not list. Leases whose results wait in the spool are listed, so they stay ours until the
   * next start re-sends them.
   */
  void stop() {
    goodbye();
    synchronized (this) {
      if (executor != null) {
        executor.shutdownNow();
      }
    }
  }

  private void goodbye() {
    if (enrollment.current().isEmpty()) {
      return;
    }
    try {
      protocol.heartbeat(new HeartbeatRequest(
          WorkerState.OFFLINE, agent.updatingTo() != null ? "agent restarting into " + agent.updatingTo()
              : "agent shutting down", config.slots(), 0, agent.heldLeases(), agent.currentCommit(), agent.data(),
          agent.agentVersion(), agent.agentRefused()));
    } catch (RuntimeException e) {
      LOG.fine("final heartbeat not delivered: " + e.getMessage());
    }
  }
}
