package dev.nightshift.protocol;

/** What a heartbeat reply can order an agent to do. */
public enum InstructionType {
  /** Stop the batch of this lease (kill its process tree) and drop its result: it was cancelled or reaped. */
  CANCEL_LEASE,
  /** Finish running batches but claim no new ones. */
  DRAIN,
  /** Claim again (undoes DRAIN). */
  RESUME,
  /** Fetch and check out this commit ahead of time. */
  PREFETCH_CODE
}
