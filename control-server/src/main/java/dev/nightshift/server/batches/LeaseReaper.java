package dev.nightshift.server.batches;

import dev.nightshift.server.system.DatabaseOutage;
import dev.nightshift.server.system.NightshiftProperties;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Runs the background steps on a schedule: reaping expired leases and finishing interrupted cancel sweeps. Each
 * step is also callable on its own (tests drive them directly on a settable clock). Safe on every server instance
 * at once: the steps use SKIP LOCKED and fenced updates.
 *
 * <p>A database outage does not count against leases: while the database is unreachable no heartbeat can renew
 * one, so after it returns nothing is reaped for one lease duration, time for every live agent (backing off, up to
 * a minute) to heartbeat and renew its leases, or report them. Only then are the leases of agents that really went
 * away reaped. Cancel sweeps resume at once.
 */
@Component
@ConditionalOnProperty(name = "nightshift.background.enabled", havingValue = "true", matchIfMissing = true)
class LeaseReaper {
  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);
  private final Runnable reap;
  private final Runnable sweep;
  private final Clock clock;
  private final Duration leaseDuration;
  /** When this reaper first found the database unreachable; null while it is reachable. */
  private volatile Instant outageSince;
  /** No reaping before this (one lease duration after the database came back). */
  private volatile Instant reapFrom = Instant.MIN;

  @Autowired
  LeaseReaper(LeaseService leases, BatchSweeps sweeps, Clock clock, NightshiftProperties properties) {
    this(leases::reapExpiredLeases, sweeps::sweepCancelledJobs, clock, properties.lease().duration());
  }

  LeaseReaper(Runnable reap, Runnable sweep, Clock clock, Duration leaseDuration) {
    this.reap = reap;
    this.sweep = sweep;
    this.clock = clock;
    this.leaseDuration = leaseDuration;
  }

  @Scheduled(
      fixedDelayString = "${nightshift.lease.reap-interval:5s}",
      initialDelayString = "${nightshift.lease.reap-interval:5s}")
  void run() {
    Instant now = clock.instant();
    try {
      if (outageSince == null && !now.isBefore(reapFrom)) {
        reap.run();
      }
      sweep.run(); // while the database is unreachable, also the probe that tells when it is back
      if (outageSince != null) {
        reapFrom = now.plus(leaseDuration);
        log.info(
            "the database is reachable again (unreachable since {}); expired leases are reaped again from {}, so"
                + " that agents renew theirs first",
            outageSince, reapFrom);
        outageSince = null;
      }
    } catch (RuntimeException e) {
      if (DatabaseOutage.isCause(e)) {
        if (outageSince == null) {
          outageSince = now;
        }
        DatabaseOutage.noted(e);
        return;
      }
      log.warn("background step failed, will try again: {}", e.toString());
    }
  }
}
