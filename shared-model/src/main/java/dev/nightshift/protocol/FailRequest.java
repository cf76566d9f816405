package dev.nightshift.protocol;

import java.time.Instant;

/**
 * An unsuccessful run.
 *
 * @param batchId the batch
 * @param leaseToken the lease's token
 * @param commit the commit that ran (or was meant to), or null
 * @param version the version tag, or null
 * @param outcome FAILED (non-zero exit or could not start), TIMED_OUT, VACATED (owner returned) or REFUSED (the
 *     agent would not run it: the error starts with the {@link RefusalReason})
 * @param exitCode the process's exit code, null when it never ran or was killed
 * @param startedAt when the process started, or null
 * @param finishedAt when it ended
 * @param error a one-line explanation from the agent (e.g. "timed out after 60 s: process tree killed")
 * @param logTail the tail of the script's stderr
 * @param data the reference data the script ran against (probed just before it started), null without a data
 *     source or when it never started
 */
public record FailRequest(
    long batchId,
    String leaseToken,
    String commit,
    String version,
    AttemptOutcome outcome,
    Integer exitCode,
    Instant startedAt,
    Instant finishedAt,
    String error,
    String logTail,
    DataState data) {

  /** A failure without reference data. */
  public FailRequest(
      long batchId, String leaseToken, String commit, String version, AttemptOutcome outcome, Integer exitCode,
      Instant startedAt, Instant finishedAt, String error, String logTail) {
    this(batchId, leaseToken, commit, version, outcome, exitCode, startedAt, finishedAt, error, logTail, null);
  }
}
