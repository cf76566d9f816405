package dev.nightshift.agent.sync;

import java.io.IOException;

/**
 * A commit cannot be had: it is not on the server, or the server cannot be reached or refuses the agent. The
 * message is one line that names the commit or the URL and the likely fix.
 */
public class CodeUnavailableException extends IOException {
  private final boolean transientFailure;

  public CodeUnavailableException(String message) {
    this(message, null, false);
  }

  public CodeUnavailableException(String message, Throwable cause) {
    this(message, cause, false);
  }

  /**
   * @param transientFailure the server could not be reached or failed (a network blip, a restart): worth trying
   *     again in a moment, unlike a commit missing on the server or a refused token
   */
  public CodeUnavailableException(String message, Throwable cause, boolean transientFailure) {
    super(message, cause);
    this.transientFailure = transientFailure;
  }

  /** Whether trying again in a moment may succeed (the server could not be reached or failed). */
  public boolean isTransient() {
    return transientFailure;
  }
}
