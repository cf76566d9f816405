package dev.nightshift.protocol;

/**
 * Machine-readable {@code reason} values the server puts into problem answers to agents, beside the human detail.
 * Report refusals use the names of {@link ReportStatus} (STALE, NOT_YOURS, WRONG_COMMIT, CONFLICT, UNKNOWN_BATCH,
 * INVALID); agents decide what to do with a spooled result from these, never from the text or the status alone.
 */
public final class ProblemReasons {
  /** Another live agent process uses this identity: nothing was done; try again later (409). */
  public static final String IDENTITY_IN_USE = "IDENTITY_IN_USE";

  /**
   * This process runs on a copy of another agent's data dir (a cloned VM image), found out because the original
   * kept calling after this one took the identity over: it is refused until it enrolls as a new worker (409).
   */
  public static final String IDENTITY_CLONED = "IDENTITY_CLONED";

  /** The name of a report's status as a problem reason. */
  public static String of(ReportStatus status) {
    return status.name();
  }

  /**
   * The report status a reason names, or null when it names none (no reason, or an identity reason).
   */
  public static ReportStatus reportStatus(String reason) {
    if (reason == null) {
      return null;
    }
    try {
      return ReportStatus.valueOf(reason);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private ProblemReasons() {}
}
