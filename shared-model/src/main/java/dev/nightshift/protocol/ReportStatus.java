package dev.nightshift.protocol;

/**
 * What the server did with a report. The separate {@code complete} and {@code fail} calls answer the refusals as
 * HTTP statuses instead (409, 403, 404, 400); a claim carrying reports answers each with one of these.
 */
public enum ReportStatus {
  /** The report was recorded now. */
  ACCEPTED,
  /** The same report had already been recorded; nothing changed. */
  DUPLICATE,
  /**
   * The lease is no longer current (expired and requeued, cancelled, finished elsewhere) or the token was never a
   * lease of this batch: nothing changed, and the result can never be accepted (HTTP 409).
   */
  STALE,
  /** The lease belongs to another worker (HTTP 403). */
  NOT_YOURS,
  /** The report names other code than the lease's commit: a result from other code is never accepted (409). */
  WRONG_COMMIT,
  /** A result was already accepted for this lease and this report's output differs from it (409). */
  CONFLICT,
  /** The server knows no such batch (HTTP 404). */
  UNKNOWN_BATCH,
  /** The report itself is malformed (HTTP 400); the detail says which field. */
  INVALID,
  /** The server could not record it now (database unavailable, overload): keep it and send it again later. */
  RETRY;

  /** Whether the agent may forget the result: the server recorded it, or it can never be accepted. */
  public boolean isFinal() {
    return this != RETRY;
  }

  /** Whether the server holds the result (now or from an earlier send). */
  public boolean isRecorded() {
    return this == ACCEPTED || this == DUPLICATE;
  }
}
