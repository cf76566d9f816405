package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLTransientConnectionException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.CannotGetJdbcConnectionException;

/** The reaper keeps running through a database outage and then gives agents one lease duration to renew. */
class LeaseReaperTest {
  static final Duration LEASE = Duration.ofMinutes(2);

  final SteppedClock clock = new SteppedClock();
  final AtomicBoolean databaseDown = new AtomicBoolean();
  final AtomicBoolean otherFailure = new AtomicBoolean();
  final AtomicInteger reaps = new AtomicInteger();
  final AtomicInteger sweeps = new AtomicInteger();
  final LeaseReaper reaper =
      new LeaseReaper(
          () -> {
            failIfBroken();
            reaps.incrementAndGet();
          },
          () -> {
            failIfBroken();
            sweeps.incrementAndGet();
          },
          clock,
          LEASE);

  void failIfBroken() {
    if (databaseDown.get()) {
      throw new CannotGetJdbcConnectionException(
          "Failed to obtain JDBC Connection",
          new SQLTransientConnectionException("Connection is not available, request timed out after 2000ms"));
    }
    if (otherFailure.get()) {
      throw new IllegalStateException("a bug");
    }
  }

  @Test
  void afterAnOutageNothingIsReapedForOneLeaseDurationWhileSweepsResumeAtOnce() {
    reaper.run();
    assertThat(reaps).hasValue(1);
    assertThat(sweeps).hasValue(1);

    databaseDown.set(true);
    for (int i = 0; i < 30; i++) {
      clock.advance(Duration.ofSeconds(5));
      reaper.run(); // never throws: the scheduler keeps calling
    }
    databaseDown.set(false);
    clock.advance(Duration.ofSeconds(5));
    reaper.run();
    assertThat(reaps).as("no reaping at the first run after the outage").hasValue(1);
    assertThat(sweeps).as("sweeps resume at once").hasValue(2);

    clock.advance(LEASE.minusSeconds(1));
    reaper.run();
    assertThat(reaps).as("agents still have time to renew").hasValue(1);

    clock.advance(Duration.ofSeconds(1));
    reaper.run();
    assertThat(reaps).as("one lease duration after the database came back").hasValue(2);
  }

  @Test
  void otherFailuresDoNotHoldReapingBack() {
    otherFailure.set(true);
    reaper.run();
    otherFailure.set(false);
    clock.advance(Duration.ofSeconds(5));
    reaper.run();
    assertThat(reaps).hasValue(1);
    assertThat(sweeps).hasValue(1);
  }

  /** A clock that moves only when told. */
  static final class SteppedClock extends Clock {
    private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
