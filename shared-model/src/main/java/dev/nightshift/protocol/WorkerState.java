package dev.nightshift.protocol;

/** A worker's state, as its agent reports it (OFFLINE and DISABLED are the server's own verdicts). */
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
