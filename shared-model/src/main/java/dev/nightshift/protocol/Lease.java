package dev.nightshift.protocol;

import java.time.Instant;
import java.util.Map;

/**
 * One batch leased to one agent: everything it needs to run the script.
 *
 * @param batchId the batch
 * @param jobId the batch's job
 * @param attempt the attempt number of this run, from 1
 * @param leaseToken the token fencing every report about this lease
 * @param expiresAt when the lease lapses unless renewed by a heartbeat
 * @param commit the commit to run, or null while no code distribution applies (the command runs in the agent's
 *     work directory)
 * @param version the version tag of that commit, or null
 * @param command the command line, run by the platform shell inside the checkout
 * @param timeoutSeconds the per-batch timeout; the process tree is killed when it passes
 * @param input the batch's input
 * @param env extra environment variables for the script
 */
public record Lease(
    long batchId,
    long jobId,
    int attempt,
    String leaseToken,
    Instant expiresAt,
    String commit,
    String version,
    String command,
    long timeoutSeconds,
    BatchInput input,
    Map<String, String> env) {

  public LeaseRef ref() {
    return new LeaseRef(batchId, leaseToken);
  }
}
