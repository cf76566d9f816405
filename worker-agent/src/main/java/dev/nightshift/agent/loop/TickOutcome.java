package dev.nightshift.agent.loop;

/** What one {@link AgentLoop#tick()} did; the loop decides from it how long to rest. */
public enum TickOutcome {
  /** Leases were claimed and started. */
  CLAIMED,
  /** The claim came back empty. */
  NO_WORK,
  /** Every slot is running a batch; no claim was made. */
  BUSY,
  /** The idle policy vetoed claiming (owner active, outside the window...). */
  IDLE_VETO,
  /** The server ordered DRAIN: no claims until RESUME. */
  DRAINING,
  /** The server could not be reached, failed, or refused the agent: waiting out a back-off. */
  BACKED_OFF,
  /** Something unexpected failed; logged, waiting out a back-off. */
  ERROR,
  /** The agent is shutting down. */
  STOPPED
}
