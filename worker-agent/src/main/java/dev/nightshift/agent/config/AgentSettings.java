package dev.nightshift.agent.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Everything the agent is configured with, resolved from flags, environment, config file and {@link Defaults}.
 *
 * @param server the control server's base URL, or null to use the one in the persisted identity
 * @param enrollmentToken the enrollment token (needed once, and again when the agent token is refused), or null
 * @param dataDir the agent's data directory (identity, lock, spool, logs, work)
 * @param slots how many batches run at once
 * @param name the worker's human-friendly name
 * @param labels capabilities jobs can require, e.g. {@code os=linux}
 * @param idle the idle policy and its settings (windows, thresholds, vacate-after)
 * @param claimWait how long a claim may long-poll the server
 * @param maxOutputBytes the largest stdout (result) and per-attempt log file an attempt may write
 * @param logTailBytes how much of the script's stderr tail is reported with the result
 * @param codeCache how many checkouts of recent commits are kept
 * @param verbose log debug details
 * @param caFile a PEM file of CA certificates to trust for HTTPS instead of the JDK's defaults, or null
 * @param dataSource the local reference-data database (docs/reference-data.md), or null when there is none
 * @param allowInsecureHttp whether a plain {@code http://} server that is not on this machine (loopback) is accepted
 * @param confinement the OS user and per-attempt limits scripts run under (Linux; none by default)
 */
public record AgentSettings(
    URI server,
    String enrollmentToken,
    Path dataDir,
    int slots,
    String name,
    Map<String, String> labels,
    IdleSettings idle,
    Duration claimWait,
    long maxOutputBytes,
    int logTailBytes,
    int codeCache,
    boolean verbose,
    Path caFile,
    dev.nightshift.agent.data.ReferenceData.Settings dataSource,
    boolean allowInsecureHttp,
    dev.nightshift.agent.runner.Confinement.Settings confinement) {

  /** Settings without a reference-data database, plain HTTP to loopback only. */
  public AgentSettings(
      URI server, String enrollmentToken, Path dataDir, int slots, String name, Map<String, String> labels,
      IdleSettings idle, Duration claimWait, long maxOutputBytes, int logTailBytes, int codeCache, boolean verbose,
      Path caFile) {
    this(server, enrollmentToken, dataDir, slots, name, labels, idle, claimWait, maxOutputBytes, logTailBytes,
        codeCache, verbose, caFile, null, false, dev.nightshift.agent.runner.Confinement.Settings.NONE);
  }

  public AgentSettings {
    labels = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(labels));
    confinement = confinement == null ? dev.nightshift.agent.runner.Confinement.Settings.NONE : confinement;
  }

  /** The idle policy's name, or null when the command's default applies. */
  public String idlePolicy() {
    return idle.policy();
  }

  public AgentSettings withIdle(IdleSettings newIdle) {
    return new AgentSettings(
        server, enrollmentToken, dataDir, slots, name, labels, newIdle, claimWait, maxOutputBytes,
        logTailBytes, codeCache, verbose, caFile, dataSource, allowInsecureHttp, confinement);
  }

  public DataDir layout() {
    return new DataDir(dataDir);
  }

  public AgentSettings withServer(URI newServer) {
    return new AgentSettings(
        newServer, enrollmentToken, dataDir, slots, name, labels, idle, claimWait, maxOutputBytes,
        logTailBytes, codeCache, verbose, caFile, dataSource, allowInsecureHttp, confinement);
  }

  /** Never prints the enrollment token. */
  @Override
  public String toString() {
    return "AgentSettings[server=" + server + ", enrollmentToken=" + (enrollmentToken == null ? "none" : "***")
        + ", dataDir=" + dataDir + ", slots=" + slots + ", name=" + name + ", labels=" + labels
        + ", idle=" + idle + ", claimWait=" + claimWait + ", maxOutputBytes=" + maxOutputBytes
        + ", logTailBytes=" + logTailBytes + ", codeCache=" + codeCache
        + (caFile == null ? "" : ", caFile=" + caFile) + (dataSource == null ? "" : ", dataSource=" + dataSource)
        + (allowInsecureHttp ? ", allowInsecureHttp=true" : "")
        + (confinement.any() ? ", confinement=" + confinement : "")
        + "]";
  }
}
