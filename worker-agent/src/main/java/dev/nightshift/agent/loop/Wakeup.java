package dev.nightshift.agent.loop;

import java.util.function.BooleanSupplier;

/**
 * Ends the loop's rest early: a finished batch, a RESUME or a shutdown wakes it. A wake-up that comes while the loop
 * is not resting is kept for its next rest, so none is lost.
 */
final class Wakeup {
  private boolean woken; // guarded by this

  /** Ends the current rest, or the next one when the loop is not resting. */
  synchronized void wake() {
    woken = true;
    notifyAll();
  }

  /**
   * Rests up to {@code millis}, not at all when woken since the last rest or when {@code skip} says so; clears the
   * wake-up either way.
   */
  synchronized void rest(long millis, BooleanSupplier skip) throws InterruptedException {
    try {
      if (!woken && !skip.getAsBoolean()) {
        wait(millis);
      }
    } finally {
      woken = false;
    }
  }
}
