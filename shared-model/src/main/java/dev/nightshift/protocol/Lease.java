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
 * @param entryPoint the entry point of the commit's manifest ({@code nightshift.json}) to run instead of {@code
 *     command}, or null; its argv (plus {@code args}) runs without a shell
 * @param args the arguments appended to the entry point's command, or null
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
    Map<String, String> env,
    String entryPoint,
    java.util.List<String> args) {

  /** A lease of a raw command (no entry point). */
  public Lease(
      long batchId, long jobId, int attempt, String leaseToken, Instant expiresAt, String commit, String version,
      String command, long timeoutSeconds, BatchInput input, Map<String, String> env) {
    this(batchId, jobId, attempt, leaseToken, expiresAt, commit, version, command, timeoutSeconds, input, env, null,
        null);
  }

  public LeaseRef ref() {
    return new LeaseRef(batchId, leaseToken);
  }
}
