package dev.nightshift.protocol;

import java.time.Instant;

/**
 * A successful run (exit code 0).
 *
 * @param batchId the batch
 * @param leaseToken the lease's token
 * @param commit the commit that ran, null when none was named by the lease
 * @param version the version tag of that commit, or null
 * @param exitCode always 0 for a completion
 * @param startedAt when the process started
 * @param finishedAt when it ended
 * @param output everything the script wrote to stdout, as UTF-8 text
 * @param logTail the tail of the script's stderr
 * @param data the reference data the script ran against (probed just before it started), null without a data
 *     source
 */
public record CompleteRequest(
    long batchId,
    String leaseToken,
    String commit,
    String version,
    int exitCode,
    Instant startedAt,
    Instant finishedAt,
    String output,
    String logTail,
    DataState data) {

  /** A completion without reference data. */
  public CompleteRequest(
      long batchId, String leaseToken, String commit, String version, int exitCode, Instant startedAt,
      Instant finishedAt, String output, String logTail) {
    this(batchId, leaseToken, commit, version, exitCode, startedAt, finishedAt, output, logTail, null);
  }
}
