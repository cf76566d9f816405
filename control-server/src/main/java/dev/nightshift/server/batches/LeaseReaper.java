package dev.nightshift.server.batches;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Runs the background steps on a schedule: reaping expired leases and finishing interrupted cancel sweeps. Each
 * step is also callable on its own (tests drive them directly on a settable clock). Safe on every server instance
 * at once: the steps use SKIP LOCKED and fenced updates.
 */
@Component
@ConditionalOnProperty(name = "nightshift.background.enabled", havingValue = "true", matchIfMissing = true)
class LeaseReaper {
  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);
  private final LeaseService leases;
  private final BatchSweeps sweeps;

  LeaseReaper(LeaseService leases, BatchSweeps sweeps) {
    this.leases = leases;
    this.sweeps = sweeps;
  }

  @Scheduled(
      fixedDelayString = "${nightshift.lease.reap-interval:5s}",
      initialDelayString = "${nightshift.lease.reap-interval:5s}")
  void run() {
    try {
      leases.reapExpiredLeases();
      sweeps.sweepCancelledJobs();
    } catch (RuntimeException e) {
      log.warn("background step failed, will try again: {}", e.toString());
    }
  }
}
