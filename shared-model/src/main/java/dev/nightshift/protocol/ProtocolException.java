package dev.nightshift.protocol;

/**
 * A protocol call refused by the server: carries the HTTP status, the problem detail's text and, where the server
 * gave one, the problem's machine-readable {@code reason} (see {@link ProblemReasons}).
 */
public class ProtocolException extends RuntimeException {
  private final int status;
  private final String reason;
  private final java.time.Duration retryAfter;

  public ProtocolException(int status, String message) {
    this(status, null, message);
  }

  public ProtocolException(int status, String reason, String message) {
    this(status, reason, message, null);
  }

  /**
   * @param retryAfter the answer's {@code Retry-After} (503 while the database is down, 429), or null
   */
  public ProtocolException(int status, String reason, String message, java.time.Duration retryAfter) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }

  /** When the server asked to be called again ({@code Retry-After}); null when it did not say. */
  public java.time.Duration retryAfter() {
    return retryAfter;
  }

  /** The HTTP status; 0 when the server could not be reached. */
  public int status() {
    return status;
  }

  /** The problem's {@code reason} property; null when the answer had none (or no answer came). */
  public String reason() {
    return reason;
  }

  /** The agent token is unknown or revoked: the agent must enroll again. */
  public boolean isUnauthorized() {
    return status == 401;
  }

  /** Worth retrying later: the server was unreachable, overloaded or failed. */
  public boolean isTransient() {
    return status == 0 || status == 408 || status == 429 || status >= 500;
  }
}
