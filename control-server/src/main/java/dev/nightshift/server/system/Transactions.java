package dev.nightshift.server.system;

import java.sql.SQLException;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Short READ COMMITTED transactions that are tried again, with a small jittered pause, when they lose a race the
 * engine resolves by aborting one side: a deadlock (MySQL/MariaDB 1213), a lock wait timeout (1205), a Galera
 * certification failure (reported as 1213 with SQLSTATE 40001, at any statement or at COMMIT, when a transaction
 * committed on another node touched the same rows) and MySQL Group Replication's rollback on a conflict (3101). The
 * code is looked for anywhere in the cause chain, so a failed commit ({@code TransactionSystemException}) counts as
 * well. The unit of work must therefore be repeatable: it runs again from the start in a fresh transaction.
 *
 * <p>A unit of work that joins an outer transaction is not retried here (the engine rolled the whole transaction
 * back): the outermost {@link #inTransaction} tries again. {@code nightshift.transactions.max-tries} (default 8)
 * bounds the tries; after the last one the failure goes to the caller.
 */
@Component
public class Transactions {
  private static final Logger log = LoggerFactory.getLogger(Transactions.class);
  /** Deadlock (also Galera's certification failure and brute-force abort), lock wait timeout, GR conflict. */
  static final java.util.Set<Integer> RETRIED_CODES = java.util.Set.of(1213, 1205, 3101);
  /** SQLSTATE of a serialization failure: the transaction was rolled back and may be tried again. */
  static final String SERIALIZATION_FAILURE = "40001";
  private final TransactionTemplate template;
  private final int maxTries;
  private final AtomicLong lockRetries = new AtomicLong();
  private final AtomicLong givenUp = new AtomicLong();

  public Transactions(
      PlatformTransactionManager manager, @Value("${nightshift.transactions.max-tries:8}") int maxTries) {
    if (maxTries < 1) {
      throw new IllegalStateException("nightshift.transactions.max-tries must be at least 1 (got " + maxTries + ")");
    }
    this.template = new TransactionTemplate(manager);
    template.setIsolationLevel(TransactionDefinition.ISOLATION_READ_COMMITTED);
    this.maxTries = maxTries;
  }

  public <T> T inTransaction(Supplier<T> work) {
    if (TransactionSynchronizationManager.isActualTransactionActive()) {
      return template.execute(status -> work.get()); // joins; the outermost call retries the whole transaction
    }
    for (int attempt = 1; ; attempt++) {
      try {
        return template.execute(status -> work.get());
      } catch (RuntimeException e) {
        if (!isRetryable(e)) {
          throw e;
        }
        if (attempt >= maxTries) {
          givenUp.incrementAndGet();
          log.warn("transaction lost a lock race or a certification {} time(s); giving up: {}", attempt, e.toString());
          throw e;
        }
        lockRetries.incrementAndGet();
        long pause = ThreadLocalRandom.current().nextLong(1, 5L << Math.min(attempt, 8)); // < 10 ms .. 1.3 s
        log.debug("transaction lost a lock race or a certification (try {}), retrying in {} ms: {}", attempt, pause,
            describe(e));
        try {
          Thread.sleep(pause);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /**
   * Whether the failure is one the engine resolved by rolling the transaction back, so trying again may succeed:
   * 1213, 1205, 3101 or SQLSTATE 40001 anywhere in the cause chain (also in a {@code SQLException}'s next
   * exceptions), or Spring's translation of them.
   */
  public static boolean isRetryable(Throwable failure) {
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    for (Throwable t = failure; t != null && seen.put(t, true) == null; t = t.getCause()) {
      if (t instanceof PessimisticLockingFailureException) {
        return true;
      }
      if (t instanceof SQLException sql) {
        for (SQLException s = sql; s != null && (s == sql || seen.put(s, true) == null); s = s.getNextException()) {
          if (RETRIED_CODES.contains(s.getErrorCode()) || SERIALIZATION_FAILURE.equals(s.getSQLState())) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** The failure with its innermost cause (the engine's own words and error code). */
  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String code = root instanceof SQLException sql ? " (" + sql.getErrorCode() + ", " + sql.getSQLState() + ")" : "";
    return (root == e ? e.toString() : e.getClass().getSimpleName() + " <- " + root) + code;
  }

  /** One READ COMMITTED transaction without retry, for work that cannot be replayed (a streamed upload). */
  public <T> T once(Supplier<T> work) {
    return template.execute(status -> work.get());
  }

  /** How many transactions were retried after losing a lock race or a certification since start. */
  public long lockRetries() {
    return lockRetries.get();
  }

  /** How many transactions failed for good after {@code max-tries} lost races since start. */
  public long givenUp() {
    return givenUp.get();
  }

  /** The most tries of one unit of work ({@code nightshift.transactions.max-tries}). */
  public int maxTries() {
    return maxTries;
  }

  public void run(Runnable work) {
    inTransaction(
        () -> {
          work.run();
          return null;
        });
  }
}
