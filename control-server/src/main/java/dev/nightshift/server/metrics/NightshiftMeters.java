package dev.nightshift.server.metrics;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.ReportStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/**
 * The domain's event counters and the dispatch latency histogram, incremented where the events happen (claim
 * answers, the batch engine's groups, the lease reaper). Every tag value is registered at start, so each series
 * exists from the first scrape (a rate over a series that appears late misses its first increments).
 */
@Component
public class NightshiftMeters {
  /** The outcomes an agent reports (the others are the server's own endings). */
  static final AttemptOutcome[] REPORTED = {
    AttemptOutcome.SUCCEEDED, AttemptOutcome.FAILED, AttemptOutcome.TIMED_OUT, AttemptOutcome.VACATED
  };

  private final Counter claimsGranted;
  private final Counter claimsEmpty;
  private final Counter leasesGranted;
  private final Counter leasesExpired;
  private final Map<ReportStatus, Counter> reports = new EnumMap<>(ReportStatus.class);
  private final Map<AttemptOutcome, Counter> completions = new EnumMap<>(AttemptOutcome.class);
  private final Timer dispatch;

  public NightshiftMeters(MeterRegistry registry) {
    claimsGranted = claims(registry, "granted");
    claimsEmpty = claims(registry, "empty");
    leasesGranted =
        Counter.builder("nightshift.leases.granted")
            .description("Leases handed to agents in claim answers")
            .register(registry);
    leasesExpired =
        Counter.builder("nightshift.leases.expired")
            .description("Leases reaped because their agent sent no heartbeat in time (batch back to PENDING or DEAD)")
            .register(registry);
    for (ReportStatus s : ReportStatus.values()) {
      reports.put(
          s,
          Counter.builder("nightshift.reports")
              .description("Reports of finished runs (complete/fail, alone or carried by a claim), by the server's answer")
              .tag("status", s.name())
              .register(registry));
    }
    for (AttemptOutcome o : REPORTED) {
      completions.put(
          o,
          Counter.builder("nightshift.completions")
              .description("Runs whose report was accepted now, by outcome (SUCCEEDED: the batch is done)")
              .tag("outcome", o.name())
              .register(registry));
    }
    dispatch =
        Timer.builder("nightshift.dispatch")
            .description(
                "Time from a claim or report entering the batch engine until its group's transaction committed"
                    + " (queue wait + the grouped claim/report transaction)")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofSeconds(30))
            .register(registry);
  }

  private static Counter claims(MeterRegistry registry, String result) {
    return Counter.builder("nightshift.claims")
        .description("Claim answers: granted (one or more leases) or empty (nothing fit, the wait ran out, a new release)")
        .tag("result", result)
        .register(registry);
  }

  /** A claim was answered with this many leases. */
  public void claimAnswered(int leases) {
    if (leases > 0) {
      claimsGranted.increment();
      leasesGranted.increment(leases);
    } else {
      claimsEmpty.increment();
    }
  }

  /** The engine answered a report; {@code outcome} is what the agent reported. */
  public void reported(ReportStatus status, AttemptOutcome outcome) {
    reports.get(status).increment();
    Counter c = completions.get(outcome);
    if (status == ReportStatus.ACCEPTED && c != null) {
      c.increment();
    }
  }

  /** The reaper ended this many expired leases. */
  public void leasesExpired(int count) {
    if (count > 0) {
      leasesExpired.increment(count);
    }
  }

  /** One engine request was answered this long after it was queued. */
  public void dispatched(long nanos) {
    dispatch.record(nanos, TimeUnit.NANOSECONDS);
  }
}
