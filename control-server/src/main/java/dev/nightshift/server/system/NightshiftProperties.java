package dev.nightshift.server.system;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Every server setting, with its default, in one place. Environment variables bind by Spring's relaxed rules:
 * {@code NIGHTSHIFT_DATA_DIR} sets {@code nightshift.data-dir}, {@code NIGHTSHIFT_LEASE_DURATION} sets
 * {@code nightshift.lease.duration}, and so on.
 *
 * @param dataDir where the server keeps its files (the embedded database, the Git repository); default
 *     {@code ~/.nightshift/server}
 * @param adminPassword the admin's password; when set it is applied at every start, when unset a password is
 *     generated on first start and printed once
 * @param enrollmentToken a standing enrollment token for scripted agent installs; unset = only tokens created
 *     through the API enroll agents
 * @param lease lease timing
 * @param claim long-poll settings
 * @param retry back-off between failed attempts
 * @param limits input size limits
 * @param code where the processing code comes from
 * @param retention how long finished jobs' data is kept
 */
@ConfigurationProperties("nightshift")
public record NightshiftProperties(
    Path dataDir,
    String adminPassword,
    String enrollmentToken,
    @DefaultValue Lease lease,
    @DefaultValue Claim claim,
    @DefaultValue Retry retry,
    @DefaultValue Limits limits,
    @DefaultValue Code code,
    @DefaultValue Retention retention) {

  public NightshiftProperties {
    if (dataDir == null) {
      dataDir = Path.of(System.getProperty("user.home"), ".nightshift", "server");
    }
  }

  /**
   * @param duration how long a lease lasts without a renewing heartbeat
   * @param heartbeatInterval how often agents send heartbeats (well under the lease duration)
   * @param claimGrace a lease the agent's heartbeat does not list is released only when older than this (covers a
   *     claim answer still on its way to the agent)
   * @param reapInterval how often expired leases are reaped
   * @param offlineAfter a worker without heartbeat for this long is shown OFFLINE
   */
  public record Lease(
      @DefaultValue("2m") Duration duration,
      @DefaultValue("30s") Duration heartbeatInterval,
      @DefaultValue("60s") Duration claimGrace,
      @DefaultValue("5s") Duration reapInterval,
      @DefaultValue("90s") Duration offlineAfter) {}

  /**
   * @param maxWait the longest an agent's claim is held open waiting for work
   * @param pollInterval while agents wait, how often the database is checked for work that no in-process event
   *     announced (retry back-offs ending)
   * @param signalInterval how often each server instance reads the one-row {@code grid_signal} table to learn of
   *     work queued, promoted or pushed through another instance (one query per instance per interval, not per
   *     agent; docs/scale-out.md); 0 turns it off
   */
  public record Claim(
      @DefaultValue("30s") Duration maxWait,
      @DefaultValue("1s") Duration pollInterval,
      @DefaultValue("20ms") Duration signalInterval) {}

  /**
   * @param upstream a Git URL the server mirrors into its own repository (the team's existing Git host); unset =
   *     admins push to the server directly
   * @param upstreamUsername user name for the upstream, if it needs one and the URL carries none
   * @param upstreamPassword password or access token for the upstream
   * @param mirrorInterval how often the upstream is fetched (also fetched right before every promotion)
   */
  public record Code(
      String upstream,
      String upstreamUsername,
      String upstreamPassword,
      @DefaultValue("60s") Duration mirrorInterval) {}

  /**
   * @param initialBackoff delay before the second attempt of a failed batch
   * @param maxBackoff cap on the delay
   */
  public record Retry(@DefaultValue("10s") Duration initialBackoff, @DefaultValue("10m") Duration maxBackoff) {}

  /**
   * @param jsonBody largest JSON request body (job submissions with inline items)
   * @param upload largest streamed NDJSON or CSV upload
   * @param itemLine largest single item: an NDJSON line, a CSV record
   * @param batchInput largest input of one batch (items of one batch, as NDJSON)
   * @param result largest result (stdout) of one batch
   * @param logTail longest log tail kept per attempt
   * @param batchesPerJob most batches one job may have
   */
  public record Limits(
      @DefaultValue("16MB") DataSize jsonBody,
      @DefaultValue("8GB") DataSize upload,
      @DefaultValue("1MB") DataSize itemLine,
      @DefaultValue("16MB") DataSize batchInput,
      @DefaultValue("64MB") DataSize result,
      @DefaultValue("64KB") DataSize logTail,
      @DefaultValue("5000000") int batchesPerJob) {}

  /**
   * @param finishedJobs how long after a job finishes (SUCCEEDED, FAILED or CANCELLED) its inputs, results and
   *     attempts are kept before they are purged; a job's own {@code retention} overrides it; 0 = keep forever
   *     (jobs with their own retention are still purged)
   * @param interval how often the purge step looks for jobs due
   * @param chunk rows deleted per statement (each its own short transaction)
   * @param pause pause between two chunks, so a large purge leaves the database room for claims
   */
  public record Retention(
      @DefaultValue("30d") Duration finishedJobs,
      @DefaultValue("10m") Duration interval,
      @DefaultValue("500") int chunk,
      @DefaultValue("20ms") Duration pause) {}
}
