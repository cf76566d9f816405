package dev.nightshift.protocol;

import java.util.List;

/**
 * A request for work, which may also carry the reports of finished batches: one round trip reports what ended and
 * claims the next batches. The server records the reports first (each answered in {@link ClaimResponse#reports()}),
 * then leases up to {@code freeSlots} batches.
 *
 * @param freeSlots the most batches the agent will take (0 to only report)
 * @param waitMillis how long the server may hold the request open waiting for work (long poll), 0 for no wait; a
 *     claim that carries reports is never held open: it is answered as soon as its reports are recorded and the
 *     work there is now has been leased
 * @param completed successful runs to report, or null
 * @param failed unsuccessful runs to report, or null
 */
public record ClaimRequest(
    int freeSlots, long waitMillis, List<CompleteRequest> completed, List<FailRequest> failed) {

  public ClaimRequest(int freeSlots, long waitMillis) {
    this(freeSlots, waitMillis, null, null);
  }

  /** How many reports the claim carries. */
  public int reportCount() {
    return (completed == null ? 0 : completed.size()) + (failed == null ? 0 : failed.size());
  }
}
