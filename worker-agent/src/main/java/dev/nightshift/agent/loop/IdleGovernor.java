package dev.nightshift.agent.loop;

import java.time.Duration;

/**
 * What the idle verdict means for one running batch: a pure decision (no clock, no process, no I/O), so every case
 * is a row of a table test. The loop applies the action to the batch's process tree.
 */
final class IdleGovernor {
  /** What to do with a running batch now. */
  enum Action {
    /** Leave it as it is. */
    NONE,
    /** The machine is idle again: resume its suspended process tree. */
    RESUME,
    /** The owner is back (or another veto): stop its process tree, keep it for a return of idleness. */
    SUSPEND,
    /** Kill it and report it VACATED: the server requeues it at once, without counting a failure. */
    VACATE
  }

  private IdleGovernor() {}

  /**
   * @param mayRun the idle verdict lets batches run
   * @param suspended the batch's process tree is suspended now
   * @param suspendedFor how long it has been suspended (zero when not)
   * @param vacateAfter how long a batch may stay suspended before it is vacated (zero: vacate at once)
   */
  static Action decide(boolean mayRun, boolean suspended, Duration suspendedFor, Duration vacateAfter) {
    if (mayRun) {
      return suspended ? Action.RESUME : Action.NONE;
    }
    if (!suspended) {
      return vacateAfter.isZero() ? Action.VACATE : Action.SUSPEND;
    }
    return suspendedFor.compareTo(vacateAfter) >= 0 ? Action.VACATE : Action.NONE;
  }
}
