package dev.nightshift.server.batches;

import dev.nightshift.protocol.BatchState;

/**
 * Every way a batch changes state, each with the change it makes to its job's counters. Nothing else moves a
 * batch: the stores write exactly these, and the counter changes are derived from them, so counters cannot drift
 * from the batches they count.
 */
public enum BatchTransition {
  /** An agent's claim leased it. */
  LEASE(BatchState.PENDING, BatchState.LEASED),
  /** Its result was accepted. */
  SUCCEED(BatchState.LEASED, BatchState.SUCCEEDED),
  /** Its lease ended without a result (failure with attempts left, release, vacate, expiry): pending again. */
  REQUEUE(BatchState.LEASED, BatchState.PENDING),
  /** Its lease ended in a failure that used its last attempt. */
  BURY(BatchState.LEASED, BatchState.DEAD),
  /** Its job was cancelled before it was leased. */
  CANCEL_PENDING(BatchState.PENDING, BatchState.CANCELLED),
  /** Its job was cancelled while it was leased. */
  CANCEL_LEASED(BatchState.LEASED, BatchState.CANCELLED),
  /** An admin retried its dead job: a fresh attempt budget. */
  REVIVE(BatchState.DEAD, BatchState.PENDING);

  public final BatchState from;
  public final BatchState to;

  BatchTransition(BatchState from, BatchState to) {
    this.from = from;
    this.to = to;
  }

  /** The transition from one state to another, or null when batches never move that way. */
  public static BatchTransition between(BatchState from, BatchState to) {
    for (BatchTransition t : values()) {
      if (t.from == from && t.to == to) {
        return t;
      }
    }
    return null;
  }

  /** The job counter change for {@code batches} batches taking this transition, {@code items} items in all. */
  public JobCounters.Delta delta(int batches, long items) {
    return JobCounters.Delta.NONE
        .plus(JobCounters.Delta.ofState(from, -batches))
        .plus(JobCounters.Delta.ofState(to, batches))
        .plus(new JobCounters.Delta(0, 0, 0, 0, 0, to == BatchState.SUCCEEDED ? items : 0));
  }
}
