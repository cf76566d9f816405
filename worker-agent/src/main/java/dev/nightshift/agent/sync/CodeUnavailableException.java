package dev.nightshift.agent.sync;

import java.io.IOException;

/**
 * A commit cannot be had: it is not on the server, or the server cannot be reached or refuses the agent. The
 * message is one line that names the commit or the URL and the likely fix.
 */
public class CodeUnavailableException extends IOException {
  public CodeUnavailableException(String message) {
    super(message);
  }

  public CodeUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
