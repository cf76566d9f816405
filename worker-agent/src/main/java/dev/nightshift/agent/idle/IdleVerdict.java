package dev.nightshift.agent.idle;

import dev.nightshift.protocol.WorkerState;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An idle policy's answer.
 *
 * @param run whether the agent may claim and run work now
 * @param state the state to report while not running (e.g. OWNER_ACTIVE); IDLE when {@code run}
 * @param reason why, in words an operator understands
 * @param readings what each probe read (probe name → reading text), for {@code nightshift-agent status}
 */
public record IdleVerdict(boolean run, WorkerState state, String reason, Map<String, String> readings) {
  public IdleVerdict {
    readings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(readings == null ? Map.of() : readings));
  }

  public IdleVerdict(boolean run, WorkerState state, String reason) {
    this(run, state, reason, Map.of());
  }

  public static IdleVerdict run(String reason) {
    return new IdleVerdict(true, WorkerState.IDLE, reason);
  }

  public static IdleVerdict wait(WorkerState state, String reason) {
    return new IdleVerdict(false, state, reason);
  }

  public IdleVerdict withReadings(Map<String, String> r) {
    return new IdleVerdict(run, state, reason, r);
  }

  /** The verdict word: RUN, or the state that keeps the agent from running. */
  public String word() {
    return run ? "RUN" : state.name();
  }
}
