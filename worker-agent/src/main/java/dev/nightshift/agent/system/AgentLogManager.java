package dev.nightshift.agent.system;

import java.util.logging.LogManager;

/**
 * A LogManager that ignores the reset java.util.logging performs from its own shutdown hook, so that what the
 * agent logs while shutting down (killing scripts, releasing leases) still reaches the console and the log file.
 * {@link Logging#close()} resets it for real. Installed by {@code Main} via {@code java.util.logging.manager}.
 */
public final class AgentLogManager extends LogManager {
  private static volatile boolean holdHandlers;

  static void holdHandlers(boolean hold) {
    holdHandlers = hold;
  }

  @Override
  public void reset() {
    if (!holdHandlers) {
      super.reset();
    }
  }
}
