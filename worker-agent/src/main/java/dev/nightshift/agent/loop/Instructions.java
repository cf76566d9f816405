package dev.nightshift.agent.loop;

import dev.nightshift.protocol.CodeRelease;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.Instruction;
import java.util.Objects;
import java.util.logging.Logger;

/**
 * Acts on what the server orders in its answers: the instructions of a heartbeat reply (cancel a lease, drain,
 * resume, prefetch code), the heartbeat interval it sets and the promoted release a heartbeat or claim answer names.
 * Keeps the drain order; everything else is done through {@link Effects}, so it is tested alone.
 */
final class Instructions {
  private static final Logger LOG = Logger.getLogger(Instructions.class.getName());

  /** What following the server does to the rest of the agent. */
  interface Effects {
    /** Stops the batch of this lease and drops its result (or drops its result waiting to be reported). */
    void cancelLease(Long batchId, String leaseToken, String reason);

    /** Fetches and checks out this commit in the background; false when the agent distributes no code now. */
    boolean prefetch(String commit, String version);

    /** Heartbeats go out this often from now on. */
    void heartbeatEvery(long millis);

    /** The loop may claim again: end its rest. */
    void wake();

    /** A heartbeat was answered, offering this agent build (null: none); for self-update. */
    default void agentOffered(dev.nightshift.protocol.AgentOffer offer) {}
  }

  private final Effects effects;
  private volatile boolean draining;
  private volatile String drainReason;

  Instructions(Effects effects) {
    this.effects = effects;
  }

  /** A heartbeat reply: its interval first, then each instruction in order, then its release. */
  void heartbeatAnswered(HeartbeatResponse r) {
    if (r == null) {
      return;
    }
    if (r.heartbeatMillis() > 0) {
      effects.heartbeatEvery(r.heartbeatMillis());
    }
    if (r.instructions() != null) {
      r.instructions().forEach(this::follow);
    }
    releaseNamed(r.release());
    effects.agentOffered(r.agent());
  }

  /**
   * The promoted release a heartbeat or claim answer names (null: none). A promotion answers parked claims at once:
   * it is fetched now, not at the next heartbeat.
   */
  void releaseNamed(CodeRelease release) {
    if (release != null) {
      effects.prefetch(release.commit(), release.version());
    }
  }

  void follow(Instruction in) {
    if (in == null || in.type() == null) {
      return;
    }
    switch (in.type()) {
      case CANCEL_LEASE -> effects.cancelLease(
          in.batchId(), in.leaseToken(), "cancelled by the server" + (in.reason() == null ? "" : ": " + in.reason()));
      case DRAIN -> {
        if (!draining) {
          LOG.info("draining: no new claims until the server says RESUME (" + in.reason() + ")");
        }
        drainReason = in.reason();
        draining = true;
      }
      case RESUME -> {
        if (draining) {
          LOG.info("resuming claims (" + in.reason() + ")");
        }
        draining = false;
        effects.wake();
      }
      case PREFETCH_CODE -> {
        if (!effects.prefetch(in.commit(), null)) {
          LOG.fine(() -> "ignoring PREFETCH_CODE " + in.commit() + ": no code distribution configured");
        }
      }
    }
  }

  /** The server ordered a drain and has not said RESUME since. */
  boolean isDraining() {
    return draining;
  }

  /** Why the agent drains, for its heartbeat; null when it does not. */
  String drainingBecause() {
    return draining ? "draining: " + Objects.requireNonNullElse(drainReason, "ordered by the server") : null;
  }
}
