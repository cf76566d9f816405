package dev.nightshift.agent.loop;

import dev.nightshift.agent.idle.IdlePolicy;
import dev.nightshift.agent.idle.IdleVerdict;
import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Asks the idle policy, one check at a time: keeps the last verdict, logs when it changes, and treats a failing
 * policy as "run" (logged once). What a verdict does to running batches is the caller's, done inside the check so
 * two checks (heartbeat thread and loop) never apply verdicts out of order.
 */
final class IdleCheck {
  private static final Logger LOG = Logger.getLogger(IdleCheck.class.getName());

  /** Applies a verdict; runs inside the check. */
  interface Then {
    /**
     * @param changed the verdict differs from the last one in whether batches may run or in the state it reports
     *     (or it is the first)
     */
    void apply(IdleVerdict verdict, boolean changed);
  }

  private final IdlePolicy policy;
  private volatile IdleVerdict last;
  private volatile long lastAt; // System.nanoTime() of the last check
  private boolean failureLogged; // guarded by this

  IdleCheck(IdlePolicy policy) {
    this.policy = policy;
  }

  /** Asks the policy, then applies its verdict with {@code then}. Never throws unless {@code then} does. */
  synchronized IdleVerdict check(Then then) {
    IdleVerdict v;
    try {
      v = policy.evaluate();
    } catch (Throwable t) {
      if (!failureLogged) {
        LOG.log(Level.WARNING, "the idle policy failed; treating it as 'run'", t);
        failureLogged = true;
      }
      v = IdleVerdict.run("idle policy failed (" + t + "); running as if idle");
    }
    IdleVerdict before = last;
    last = v;
    lastAt = System.nanoTime();
    boolean changed = before == null || before.run() != v.run() || before.state() != v.state();
    if (changed) {
      LOG.info("idle verdict: " + v.word() + " - " + v.reason());
    }
    then.apply(v, changed);
    return v;
  }

  /**
   * The last verdict when it is at most {@code maxAge} old, else a new {@link #check}: for callers that act often
   * (a claim from a slot thread per batch) and may act on a verdict a moment old.
   */
  IdleVerdict recent(Duration maxAge, Then then) {
    IdleVerdict v = last;
    if (v != null && System.nanoTime() - lastAt <= maxAge.toNanos()) {
      return v;
    }
    return check(then);
  }

  /** The verdict of the last check; null before the first. */
  IdleVerdict last() {
    return last;
  }
}
