package dev.nightshift.server.system;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Short READ COMMITTED transactions that retry MySQL/MariaDB deadlocks (1213) and lock wait timeouts (1205) with
 * jitter instead of failing the caller: the peers' queues died on exactly these.
 */
@Component
public class Transactions {
  private static final Logger log = LoggerFactory.getLogger(Transactions.class);
  private static final int MAX_TRIES = 8;
  private final TransactionTemplate template;
  private final java.util.concurrent.atomic.AtomicLong lockRetries = new java.util.concurrent.atomic.AtomicLong();

  public Transactions(PlatformTransactionManager manager) {
    this.template = new TransactionTemplate(manager);
    template.setIsolationLevel(TransactionDefinition.ISOLATION_READ_COMMITTED);
  }

  public <T> T inTransaction(Supplier<T> work) {
    for (int attempt = 1; ; attempt++) {
      try {
        return template.execute(status -> work.get());
      } catch (PessimisticLockingFailureException e) {
        if (attempt >= MAX_TRIES) {
          throw e;
        }
        lockRetries.incrementAndGet();
        long pause = ThreadLocalRandom.current().nextLong(1, 5L << Math.min(attempt, 6));
        log.debug("transaction lost a lock race (try {}), retrying in {} ms: {}", attempt, pause, e.getMessage());
        try {
          Thread.sleep(pause);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** One READ COMMITTED transaction without retry, for work that cannot be replayed (a streamed upload). */
  public <T> T once(Supplier<T> work) {
    return template.execute(status -> work.get());
  }

  /** How many transactions were retried after losing a lock race since start. */
  public long lockRetries() {
    return lockRetries.get();
  }

  public void run(Runnable work) {
    inTransaction(
        () -> {
          work.run();
          return null;
        });
  }
}
