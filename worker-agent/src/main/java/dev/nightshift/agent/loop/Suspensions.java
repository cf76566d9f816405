package dev.nightshift.agent.loop;

import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.idle.ProbePolicy;
import dev.nightshift.agent.runner.ScriptRun;
import java.time.Duration;
import java.util.logging.Logger;

/**
 * Does to the running batches what an idle verdict means for each, as {@link IdleGovernor} decides: anything but RUN
 * suspends their process trees, RUN resumes them, and a batch suspended for {@code vacateAfter} is vacated (killed,
 * reported as VACATED, requeued by the server at once).
 */
final class Suspensions {
  private static final Logger LOG = Logger.getLogger(Suspensions.class.getName());

  private final Slots slots;
  private final Duration vacateAfter;

  Suspensions(Slots slots, Duration vacateAfter) {
    this.slots = slots;
    this.vacateAfter = vacateAfter;
  }

  /** Applies {@code v} to every running batch not cancelled meanwhile. */
  void apply(IdleVerdict v) {
    for (HeldLease h : slots.held()) {
      ScriptRun run = h.run;
      if (run == null || h.cancelReason != null) {
        continue;
      }
      boolean suspended = run.isSuspended();
      Duration suspendedFor = suspended ? run.suspendedFor() : Duration.ZERO;
      switch (IdleGovernor.decide(v.run(), suspended, suspendedFor, vacateAfter)) {
        case RESUME -> {
          if (run.resume()) {
            LOG.info(h.describe() + ": machine idle again (" + v.reason() + "); resumed");
          }
        }
        case SUSPEND -> {
          if (run.suspend()) {
            LOG.info(h.describe() + ": " + v.reason() + "; suspended, vacated unless idle again within "
                + ProbePolicy.human(vacateAfter));
          }
        }
        case VACATE -> {
          if (!suspended) {
            LOG.info(h.describe() + ": " + v.reason() + "; vacating (vacate-after is 0)");
            run.vacate(v.reason());
          } else {
            LOG.info(h.describe() + ": suspended for " + ProbePolicy.human(suspendedFor) + " (" + v.reason()
                + "); vacating: the server requeues it at once");
            run.vacate(v.reason() + "; suspended longer than vacate-after " + ProbePolicy.human(vacateAfter));
          }
        }
        case NONE -> {}
      }
    }
  }
}
