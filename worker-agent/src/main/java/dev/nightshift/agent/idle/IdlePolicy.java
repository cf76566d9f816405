package dev.nightshift.agent.idle;

/**
 * Decides whether this machine may run work now. Asked before every claim; later policies (a {@code desktop}
 * policy with time windows, user input, load and power probes) plug in here.
 */
public interface IdlePolicy {
  IdleVerdict evaluate();
}
