package dev.nightshift.protocol;

/** A batch's state: PENDING, LEASED, then SUCCEEDED, or back to PENDING until max attempts, then DEAD. */
public enum BatchState {
  PENDING,
  LEASED,
  SUCCEEDED,
  DEAD,
  CANCELLED;

  public boolean isTerminal() {
    return this == SUCCEEDED || this == DEAD || this == CANCELLED;
  }
}
