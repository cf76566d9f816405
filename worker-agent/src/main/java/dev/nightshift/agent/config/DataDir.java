package dev.nightshift.agent.config;

import java.nio.file.Path;

/** The layout of the agent's data directory: every file the agent keeps, named once. */
public record DataDir(Path root) {
  public Path identityFile() {
    return root.resolve("identity.json");
  }

  /** The instance id of the agent process running (or last run) on this data dir. */
  public Path instanceFile() {
    return root.resolve("instance");
  }

  public Path lockFile() {
    return root.resolve("agent.lock");
  }

  public Path pidFile() {
    return root.resolve("agent.pid");
  }

  /** The owner's pause, written by {@code nightshift-agent pause}, deleted by {@code resume}. */
  public Path pauseFile() {
    return root.resolve("owner-pause");
  }

  /** What the running agent last decided and runs, rewritten every idle check; read by {@code status}. */
  public Path statusFile() {
    return root.resolve("status.json");
  }

  public Path configFile() {
    return root.resolve(Defaults.CONFIG_FILE_NAME);
  }

  /** Results written before they are reported: {@code <batchId>-<attempt>.json}. */
  public Path spoolDir() {
    return root.resolve("spool");
  }

  /** stdout of running attempts: {@code <batchId>-<attempt>.out}, deleted once spooled. */
  public Path runsDir() {
    return root.resolve("runs");
  }

  /** The local clone of the server's code: a bare repository. */
  public Path codeRepository() {
    return root.resolve("code").resolve("repo.git");
  }

  /** Checkouts of recent commits: {@code <commit>/}. */
  public Path checkoutsDir() {
    return root.resolve("code").resolve("checkouts");
  }

  public Path logsDir() {
    return root.resolve("logs");
  }

  /** stderr of each attempt: {@code <batchId>-<attempt>.log}. */
  public Path attemptLogsDir() {
    return logsDir().resolve("attempts");
  }
}
