package dev.nightshift.agent.runner;

import dev.nightshift.protocol.Lease;
import java.time.Clock;

/** Prepares runs of leases per the script contract; one {@link ScriptRun} per lease. */
public final class ScriptRunner {
  private final RunnerConfig config;
  private final WorkspaceProvider workspaces;
  private final Clock clock;

  public ScriptRunner(RunnerConfig config, WorkspaceProvider workspaces, Clock clock) {
    this.config = config;
    this.workspaces = workspaces;
    this.clock = clock;
  }

  /** A run of {@code lease}, not yet started: call {@link ScriptRun#run()} on the thread that should wait for it. */
  public ScriptRun prepare(Lease lease) {
    return new ScriptRun(lease, config, workspaces, clock);
  }

  public RunnerConfig config() {
    return config;
  }
}
