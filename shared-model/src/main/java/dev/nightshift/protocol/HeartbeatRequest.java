package dev.nightshift.protocol;

import java.util.List;

/**
 * The agent's periodic report.
 *
 * @param state the agent's own state (IDLE, BUSY, OWNER_ACTIVE, ...); OFFLINE in the final heartbeat of a stopping
 *     agent
 * @param reason why the agent is in that state, in words an operator understands
 * @param slots total slots
 * @param freeSlots slots not running a batch
 * @param leases every lease the agent holds; exactly these are renewed, any other lease of this worker older than
 *     the claim grace is released
 * @param commit the commit the agent has checked out most recently, or null
 * @param data the agent's reference-data database as last probed, null when it has none configured
 * @param agentVersion the running agent's version; null from agents older than self-update
 * @param agentRefused the agent version this agent's launcher tried and rolled back (it did not heartbeat in time or
 *     crashed), so the server stops offering it; null when none was refused
 */
public record HeartbeatRequest(
    WorkerState state, String reason, int slots, int freeSlots, List<LeaseRef> leases, String commit,
    DataState data, String agentVersion, String agentRefused) {

  /** A heartbeat that says nothing about the agent's version (agents older than self-update, tests). */
  public HeartbeatRequest(
      WorkerState state, String reason, int slots, int freeSlots, List<LeaseRef> leases, String commit,
      DataState data) {
    this(state, reason, slots, freeSlots, leases, commit, data, null, null);
  }

  /** A heartbeat of an agent without a reference-data database. */
  public HeartbeatRequest(
      WorkerState state, String reason, int slots, int freeSlots, List<LeaseRef> leases, String commit) {
    this(state, reason, slots, freeSlots, leases, commit, null);
  }
}
