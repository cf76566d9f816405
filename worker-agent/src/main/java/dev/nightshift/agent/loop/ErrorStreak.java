package dev.nightshift.agent.loop;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The loop's run of failed server calls: logs a failure once per streak of the same failure (repeats go to the debug
 * level) and, once a call succeeds again, how many failed in a row.
 */
final class ErrorStreak {
  private static final Logger LOG = Logger.getLogger(ErrorStreak.class.getName());

  private String lastError; // guarded by this
  private int length; // guarded by this

  /** A call failed with {@code message}; a warning when it differs from the last failure. */
  synchronized void failed(String message, Throwable t) {
    length++;
    if (!message.equals(lastError)) {
      LOG.log(Level.WARNING, message + "; backing off", t);
      lastError = message;
    } else {
      int n = length;
      LOG.fine(() -> message + " (again, " + n + " in a row)");
    }
  }

  /** A call succeeded: the streak ends (logged when more than one call had failed). */
  synchronized void recovered() {
    if (length > 1) {
      LOG.info("server reachable again after " + length + " failed attempts");
    }
    length = 0;
    lastError = null;
  }

  /** How many calls failed in a row since the last success. */
  synchronized int length() {
    return length;
  }
}
