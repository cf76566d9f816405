package dev.nightshift.agent.spool;

import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.LeaseRef;

/**
 * A result as it waits on disk to be reported: exactly one of {@code complete} and {@code fail} is set.
 *
 * @param attempt the attempt number the result belongs to (names the spool file)
 * @param complete the completion to send, or null
 * @param fail the failure to send, or null
 */
public record SpooledReport(int attempt, CompleteRequest complete, FailRequest fail) {

  public SpooledReport {
    if ((complete == null) == (fail == null)) {
      throw new IllegalArgumentException("a spooled report holds exactly one of complete and fail");
    }
  }

  public static SpooledReport of(int attempt, CompleteRequest complete) {
    return new SpooledReport(attempt, complete, null);
  }

  public static SpooledReport of(int attempt, FailRequest fail) {
    return new SpooledReport(attempt, null, fail);
  }

  public long batchId() {
    return complete != null ? complete.batchId() : fail.batchId();
  }

  public LeaseRef ref() {
    return complete != null
        ? new LeaseRef(complete.batchId(), complete.leaseToken())
        : new LeaseRef(fail.batchId(), fail.leaseToken());
  }

  /** {@code <batchId>-<attempt>.json}. */
  public String fileName() {
    return batchId() + "-" + attempt + ".json";
  }

  /** e.g. "batch 12 attempt 1 (complete)", for logs. */
  public String describe() {
    return "batch " + batchId() + " attempt " + attempt + " (" + (complete != null ? "complete" : "fail") + ")";
  }
}
