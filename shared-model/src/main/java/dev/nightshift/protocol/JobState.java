package dev.nightshift.protocol;

/** A job's state: QUEUED, RUNNING, then SUCCEEDED, FAILED or CANCELLED; PAUSED in between. */
public enum JobState {
  QUEUED,
  RUNNING,
  PAUSED,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public boolean isTerminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
