package dev.nightshift.agent.idle;

import dev.nightshift.protocol.WorkerState;

/**
 * An idle policy's answer.
 *
 * @param run whether the agent may claim and run work now
 * @param state the state to report while not running (e.g. OWNER_ACTIVE); IDLE when {@code run}
 * @param reason why, in words an operator understands
 */
public record IdleVerdict(boolean run, WorkerState state, String reason) {
  public static IdleVerdict run(String reason) {
    return new IdleVerdict(true, WorkerState.IDLE, reason);
  }

  public static IdleVerdict wait(WorkerState state, String reason) {
    return new IdleVerdict(false, state, reason);
  }
}
