package dev.nightshift.server.grid;

import dev.nightshift.server.batches.ClaimDispatcher;
import dev.nightshift.server.batches.CurrentRelease;
import dev.nightshift.server.batches.WorkAvailable;
import dev.nightshift.server.code.CodeSync;
import dev.nightshift.server.code.ReleaseService;
import dev.nightshift.server.system.DatabaseOutage;
import dev.nightshift.server.system.NightshiftProperties;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Wake-ups across server instances (docs/scale-out.md). The transaction that makes work claimable (a submission,
 * a resume, leases given back, retries due) or promotes a release bumps a counter in the one row of
 * {@code grid_signal}, as its last statement; each instance reads that row every signal interval (20 ms by default:
 * one primary-key read per instance, however many agents wait) and, when a counter moved, wakes its parked claims
 * (work), answers them with the new release (release), or imports the new push (code).
 */
@Component
public class GridSignal implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(GridSignal.class);
  private static final Object PENDING = new Object();

  /** What moved, and its column. */
  public enum Kind {
    WORK("work"),
    RELEASE("release_"),
    CODE("code");

    private final String column;

    Kind(String column) {
      this.column = column;
    }
  }

  private final JdbcClient jdbc;
  private final ClaimDispatcher dispatcher;
  private final ReleaseService releases;
  private final CodeSync code;
  private final Duration interval;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong wakes = new AtomicLong();
  private volatile boolean running;
  private Thread thread;

  GridSignal(
      JdbcClient jdbc,
      ClaimDispatcher dispatcher,
      ReleaseService releases,
      CodeSync code,
      NightshiftProperties properties) {
    this.jdbc = jdbc;
    this.dispatcher = dispatcher;
    this.releases = releases;
    this.code = code;
    this.interval = properties.claim().signalInterval();
  }

  @EventListener
  void on(WorkAvailable event) {
    bump(Kind.WORK);
  }

  @EventListener
  void on(CurrentRelease.Changed event) {
    bump(Kind.RELEASE);
  }

  /**
   * Bumps a counter: just before the current transaction commits (its last lock, held for the shortest time; a
   * rolled-back transaction signals nothing), or at once when none is active.
   */
  @SuppressWarnings("unchecked")
  public void bump(Kind kind) {
    if (!TransactionSynchronizationManager.isActualTransactionActive()
        || !TransactionSynchronizationManager.isSynchronizationActive()) {
      try {
        update(EnumSet.of(kind));
      } catch (RuntimeException e) {
        // what it announces is committed already: the other instances see it at their claim poll instead
        log.warn("could not signal {} to the other server instances: {}", kind, e.toString());
      }
      return;
    }
    Set<Kind> pending = (Set<Kind>) TransactionSynchronizationManager.getResource(PENDING);
    if (pending == null) {
      Set<Kind> kinds = EnumSet.noneOf(Kind.class);
      TransactionSynchronizationManager.bindResource(PENDING, kinds);
      TransactionSynchronizationManager.registerSynchronization(
          new TransactionSynchronization() {
            @Override
            public void beforeCommit(boolean readOnly) {
              update(kinds);
            }

            @Override
            public void afterCompletion(int status) {
              TransactionSynchronizationManager.unbindResourceIfPossible(PENDING);
            }
          });
      pending = kinds;
    }
    pending.add(kind);
  }

  private void update(Set<Kind> kinds) {
    if (kinds.isEmpty()) {
      return;
    }
    StringBuilder set = new StringBuilder();
    for (Kind k : kinds) {
      set.append(set.isEmpty() ? "" : ", ").append(k.column).append(" = ").append(k.column).append(" + 1");
    }
    jdbc.sql("UPDATE grid_signal SET " + set + " WHERE id = 1").update();
  }

  private record Counters(long work, long release, long code) {}

  private Counters read() {
    reads.incrementAndGet();
    return jdbc.sql("SELECT work, release_, code FROM grid_signal WHERE id = 1")
        .query((rs, n) -> new Counters(rs.getLong(1), rs.getLong(2), rs.getLong(3)))
        .optional()
        .orElse(new Counters(0, 0, 0));
  }

  private void loop() {
    Counters seen = null;
    while (running) {
      try {
        Thread.sleep(interval.toMillis());
        Counters now = read();
        if (seen != null) {
          if (now.release != seen.release) {
            releases.forget();
            dispatcher.releaseChanged();
            code.catchUpSoon();
          }
          if (now.work != seen.work) {
            wakes.incrementAndGet();
            dispatcher.wake();
          }
          if (now.code != seen.code) {
            code.catchUpSoon();
          }
        }
        seen = now;
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        if (DatabaseOutage.isCause(e)) {
          DatabaseOutage.noted(e);
        } else {
          log.warn("reading grid_signal failed, will try again: {}", e.toString());
        }
        seen = null; // missed changes are caught by the claim poll interval and the code sync's period
        try {
          Thread.sleep(1000);
        } catch (InterruptedException stop) {
          return;
        }
      }
    }
  }

  /** Reads of the signal row since start (each is one primary-key lookup). */
  public long reads() {
    return reads.get();
  }

  @Override
  public void start() {
    if (interval.isZero() || interval.isNegative()) {
      log.info("grid signal off (nightshift.claim.signal-interval=0): other instances' work is seen at the poll");
      return;
    }
    running = true;
    thread = new Thread(this::loop, "grid-signal");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void stop() {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
