package dev.nightshift.agent.runner;

import dev.nightshift.protocol.Lease;
import java.time.Clock;

/** Prepares runs of leases per the script contract; one {@link ScriptRun} per lease. */
public final class ScriptRunner {
  private final RunnerConfig config;
  private final WorkspaceProvider workspaces;
  private final Clock clock;
  private volatile dev.nightshift.agent.data.ReferenceData referenceData; // null: no data source

  public ScriptRunner(RunnerConfig config, WorkspaceProvider workspaces, Clock clock) {
    this.config = config;
    this.workspaces = workspaces;
    this.clock = clock;
  }

  /** A run of {@code lease}, not yet started: call {@link ScriptRun#run()} on the thread that should wait for it. */
  public ScriptRun prepare(Lease lease) {
    return new ScriptRun(lease, config, workspaces, clock, referenceData);
  }

  /** Gives every later run the reference-data database's variables (docs/reference-data.md). */
  public void useReferenceData(dev.nightshift.agent.data.ReferenceData data) {
    this.referenceData = data;
  }

  /** The reference-data database, or null when none is configured. */
  public dev.nightshift.agent.data.ReferenceData referenceData() {
    return referenceData;
  }

  public RunnerConfig config() {
    return config;
  }
}
