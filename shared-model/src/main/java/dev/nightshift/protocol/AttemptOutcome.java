package dev.nightshift.protocol;

/** How one run of a batch ended. */
public enum AttemptOutcome {
  /** Leased and not yet reported. */
  RUNNING,
  /** Exit code 0; its result was accepted. */
  SUCCEEDED,
  /** Non-zero exit, crash, or the script could not be started. Counts toward max attempts. */
  FAILED,
  /** The per-batch timeout passed and the process tree was killed. Counts toward max attempts. */
  TIMED_OUT,
  /** The lease lapsed without a heartbeat (the agent died or lost the network). Counts toward max attempts. */
  EXPIRED,
  /** The agent gave the lease back (shutdown). Does not count toward max attempts. */
  RELEASED,
  /** The job was cancelled while this attempt ran. */
  CANCELLED,
  /** The desktop's owner returned and the run was vacated. Does not count toward max attempts. */
  VACATED,
  /**
   * The agent refused to run the lease: the release is unsigned or not signed by a key it trusts, the entry point
   * is missing, or a raw command was handed to an agent that runs only signed entry points. The error starts with
   * the {@link RefusalReason}. The batch is DEAD at once: another trusted agent would refuse it too.
   */
  REFUSED;

  /** Whether an attempt ending this way uses up one of the batch's attempts. */
  public boolean countsAsFailure() {
    return this == FAILED || this == TIMED_OUT || this == EXPIRED;
  }
}
