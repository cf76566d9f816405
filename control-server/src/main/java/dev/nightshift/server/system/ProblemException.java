package dev.nightshift.server.system;

import org.springframework.http.HttpStatus;

/**
 * A refusal that becomes an RFC 9457 problem: the status, a short title and a detail telling the caller what to
 * fix. Thrown anywhere in the domain; mapped to HTTP in one place ({@link ProblemHandling}).
 */
public class ProblemException extends RuntimeException {
  private final HttpStatus status;
  private final String title;
  private final String reason;

  public ProblemException(HttpStatus status, String title, String detail) {
    this(status, title, detail, null);
  }

  /**
   * @param reason a machine-readable reason for programs (the problem's {@code reason} property), or null
   */
  public ProblemException(HttpStatus status, String title, String detail, String reason) {
    super(detail);
    this.status = status;
    this.title = title;
    this.reason = reason;
  }

  /** The machine-readable reason, or null. */
  public String reason() {
    return reason;
  }

  /** The same refusal with a machine-readable reason. */
  public ProblemException withReason(String reason) {
    return new ProblemException(status, title, getMessage(), reason);
  }

  public HttpStatus status() {
    return status;
  }

  public String title() {
    return title;
  }

  public static ProblemException badRequest(String detail) {
    return new ProblemException(HttpStatus.BAD_REQUEST, "Invalid request", detail);
  }

  public static ProblemException notFound(String what, Object id) {
    return new ProblemException(HttpStatus.NOT_FOUND, "Not found", what + " " + id + " does not exist");
  }

  public static ProblemException conflict(String detail) {
    return new ProblemException(HttpStatus.CONFLICT, "Conflict", detail);
  }

  public static ProblemException forbidden(String detail) {
    return new ProblemException(HttpStatus.FORBIDDEN, "Forbidden", detail);
  }

  public static ProblemException tooLarge(String detail) {
    return new ProblemException(HttpStatus.CONTENT_TOO_LARGE, "Request too large", detail);
  }
}
