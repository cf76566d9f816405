package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.server.testing.TestDatabase;
import java.sql.SQLException;
import java.sql.SQLTransactionRollbackException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.UncategorizedSQLException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.transaction.TransactionSystemException;

/**
 * What {@link Transactions} tries again: a real InnoDB deadlock between two threads, and the failures a Galera
 * cluster or Group Replication report (1213 with SQLSTATE 40001 at COMMIT, 3101), wherever they sit in the cause
 * chain; what it does not (a duplicate key); and that it gives up after {@code max-tries}.
 */
class TransactionsTest {
  DriverManagerDataSource dataSource;
  JdbcTemplate jdbc;

  @BeforeEach
  void database() {
    String[] db = TestDatabase.fresh();
    dataSource = new DriverManagerDataSource(db[0], db[1], db[2]);
    jdbc = new JdbcTemplate(dataSource);
  }

  Transactions transactions(int maxTries) {
    return new Transactions(new DataSourceTransactionManager(dataSource), maxTries);
  }

  /** How Galera reports a certification failure: ER_LOCK_DEADLOCK, SQLSTATE 40001. */
  static SQLException certificationFailure() {
    return new SQLTransactionRollbackException(
        "WSREP detected deadlock/conflict and aborted the transaction. Try restarting the transaction", "40001",
        1213);
  }

  @Test
  void aRealDeadlockIsTriedAgainAndBothTransactionsCommit() throws Exception {
    jdbc.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    jdbc.update("INSERT INTO t VALUES (1, 0), (2, 0)");
    Transactions tx = transactions(8);
    CountDownLatch bothHoldOne = new CountDownLatch(2);
    AtomicInteger tries = new AtomicInteger();
    CompletableFuture<Void> first =
        CompletableFuture.runAsync(() -> tx.run(() -> lockBoth(1, 2, bothHoldOne, tries)));
    CompletableFuture<Void> second =
        CompletableFuture.runAsync(() -> tx.run(() -> lockBoth(2, 1, bothHoldOne, tries)));
    first.get(60, TimeUnit.SECONDS);
    second.get(60, TimeUnit.SECONDS);

    assertThat(tx.lockRetries()).as("the deadlock's loser was tried again").isGreaterThanOrEqualTo(1);
    assertThat(tries.get()).isEqualTo(2 + tx.lockRetries());
    assertThat(jdbc.queryForList("SELECT v FROM t ORDER BY id", Integer.class)).containsExactly(2, 2);
  }

  /** Locks row {@code a}, waits (once) until the other thread holds its first row too, then locks {@code b}. */
  private void lockBoth(int a, int b, CountDownLatch bothHoldOne, AtomicInteger tries) {
    tries.incrementAndGet();
    jdbc.update("UPDATE t SET v = v + 1 WHERE id = ?", a);
    bothHoldOne.countDown();
    try {
      bothHoldOne.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    jdbc.update("UPDATE t SET v = v + 1 WHERE id = ?", b);
  }

  @Test
  void aCertificationFailureAtCommitIsTriedAgain() {
    Transactions tx = transactions(8);
    AtomicInteger tries = new AtomicInteger();
    String result =
        tx.inTransaction(
            () -> {
              if (tries.incrementAndGet() < 3) {
                // As a failed COMMIT reaches the caller: the driver's exception under Spring's.
                throw new TransactionSystemException("Could not commit JDBC transaction", certificationFailure());
              }
              return "committed";
            });
    assertThat(result).isEqualTo("committed");
    assertThat(tries).hasValue(3);
    assertThat(tx.lockRetries()).isEqualTo(2);
    assertThat(tx.givenUp()).isZero();
  }

  @Test
  void everyRetriedCodeAnywhereInTheCauseChain() {
    assertThat(Transactions.isRetryable(new RuntimeException(new IllegalStateException(certificationFailure()))))
        .isTrue();
    assertThat(Transactions.isRetryable(new UncategorizedSQLException("x", "UPDATE", new SQLException("l", "HY000", 1205))))
        .as("lock wait timeout").isTrue();
    assertThat(Transactions.isRetryable(new TransactionSystemException("commit", new SQLException("gr", "HY000", 3101))))
        .as("Group Replication's conflict rollback").isTrue();
    assertThat(Transactions.isRetryable(new SQLException("s", "40001", 0))).as("serialization failure").isTrue();
    SQLException chained = new SQLException("batch", "HY000", 0);
    chained.setNextException(new SQLException("d", "40001", 1213));
    assertThat(Transactions.isRetryable(chained)).as("in a next exception").isTrue();
    assertThat(Transactions.isRetryable(new org.springframework.dao.CannotAcquireLockException("1205"))).isTrue();

    assertThat(Transactions.isRetryable(new SQLException("Duplicate entry", "23000", 1062))).isFalse();
    assertThat(Transactions.isRetryable(new IllegalStateException("no"))).isFalse();
    RuntimeException loop = new RuntimeException("a");
    RuntimeException other = new RuntimeException("b", loop);
    loop.initCause(other);
    assertThat(Transactions.isRetryable(loop)).as("a cause cycle ends").isFalse();
  }

  @Test
  void otherFailuresAreNotTriedAgain() {
    Transactions tx = transactions(8);
    AtomicInteger tries = new AtomicInteger();
    assertThatThrownBy(
            () ->
                tx.run(
                    () -> {
                      tries.incrementAndGet();
                      throw new UncategorizedSQLException("x", "INSERT", new SQLException("dup", "23000", 1062));
                    }))
        .isInstanceOf(UncategorizedSQLException.class);
    assertThat(tries).hasValue(1);
    assertThat(tx.lockRetries()).isZero();
  }

  @Test
  void givesUpAfterMaxTries() {
    Transactions tx = transactions(3);
    AtomicInteger tries = new AtomicInteger();
    assertThatThrownBy(
            () ->
                tx.run(
                    () -> {
                      tries.incrementAndGet();
                      throw new TransactionSystemException("commit", certificationFailure());
                    }))
        .isInstanceOf(TransactionSystemException.class)
        .hasRootCauseMessage(certificationFailure().getMessage());
    assertThat(tries).hasValue(3);
    assertThat(tx.lockRetries()).isEqualTo(2);
    assertThat(tx.givenUp()).isEqualTo(1);
  }

  @Test
  void withOneTryNothingIsTriedAgain() {
    Transactions tx = transactions(1);
    AtomicInteger tries = new AtomicInteger();
    assertThatThrownBy(() -> tx.run(() -> {
          tries.incrementAndGet();
          throw new UncategorizedSQLException("x", "UPDATE", certificationFailure());
        }))
        .isInstanceOf(UncategorizedSQLException.class);
    assertThat(tries).hasValue(1);
    assertThatThrownBy(() -> transactions(0)).hasMessageContaining("max-tries");
  }

  @Test
  void aNestedUnitIsTriedAgainByTheOutermostTransaction() {
    jdbc.execute("CREATE TABLE n (id INT PRIMARY KEY AUTO_INCREMENT)");
    Transactions tx = transactions(8);
    AtomicInteger outer = new AtomicInteger();
    AtomicInteger inner = new AtomicInteger();
    tx.run(
        () -> {
          outer.incrementAndGet();
          jdbc.update("INSERT INTO n VALUES (NULL)");
          tx.run(
              () -> {
                if (inner.incrementAndGet() == 1) {
                  throw new UncategorizedSQLException("x", "UPDATE", certificationFailure());
                }
              });
        });
    assertThat(outer).as("the whole transaction ran again").hasValue(2);
    assertThat(inner).hasValue(2);
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM n", Integer.class))
        .as("the first try's insert was rolled back").isEqualTo(1);
  }
}
