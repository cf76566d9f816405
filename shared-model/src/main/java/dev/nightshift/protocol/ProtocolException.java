package dev.nightshift.protocol;

/**
 * A protocol call refused by the server: carries the HTTP status and the problem detail's text.
 */
public class ProtocolException extends RuntimeException {
  private final int status;

  public ProtocolException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The HTTP status; 0 when the server could not be reached. */
  public int status() {
    return status;
  }

  /** The agent token is unknown or revoked: the agent must enroll again. */
  public boolean isUnauthorized() {
    return status == 401;
  }

  /** The lease is stale (reaped, cancelled, finished elsewhere) or not this agent's: the report is final. */
  public boolean isLeaseLost() {
    return status == 409 || status == 403;
  }

  /** Worth retrying later: the server was unreachable, overloaded or failed. */
  public boolean isTransient() {
    return status == 0 || status == 408 || status == 429 || status >= 500;
  }
}
