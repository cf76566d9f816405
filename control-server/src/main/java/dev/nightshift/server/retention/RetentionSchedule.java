package dev.nightshift.server.retention;

import dev.nightshift.server.system.DatabaseOutage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** Runs the purge step on a schedule; tests call {@link RetentionService#purgeDue()} directly instead. */
@Component
@ConditionalOnProperty(name = "nightshift.background.enabled", havingValue = "true", matchIfMissing = true)
class RetentionSchedule {
  private static final Logger log = LoggerFactory.getLogger(RetentionSchedule.class);
  private final RetentionService retention;

  RetentionSchedule(RetentionService retention) {
    this.retention = retention;
  }

  @Scheduled(
      fixedDelayString = "${nightshift.retention.interval:10m}",
      initialDelayString = "${nightshift.retention.interval:10m}")
  void run() {
    try {
      retention.purgeDue();
    } catch (RuntimeException e) {
      if (DatabaseOutage.isCause(e)) {
        DatabaseOutage.noted(e);
        return;
      }
      log.warn("purging finished jobs failed, will try again: {}", e.toString());
    }
  }
}
