package dev.nightshift.agent.idle;

/**
 * Decides whether this machine may run work now. Asked before every claim and on every idle check while batches
 * run (a verdict other than RUN suspends them); {@link ProbePolicy} implements {@code always} and {@code desktop}.
 */
public interface IdlePolicy {
  IdleVerdict evaluate();
}
