package dev.nightshift.protocol;

/**
 * A worker's state, as its agent reports it. An agent reports OFFLINE in its final heartbeat when it stops: the
 * server then drops its parked claims and requeues every lease the heartbeat does not list. The server also shows
 * OFFLINE for a worker whose heartbeats stopped, and DISABLED for a revoked one.
 */
public enum WorkerState {
  IDLE,
  BUSY,
  OWNER_ACTIVE,
  OUTSIDE_WINDOW,
  ON_BATTERY,
  MACHINE_BUSY,
  PAUSED_BY_OWNER,
  DRAINING,
  OFFLINE,
  DISABLED
}
