package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;
import org.springframework.dao.CannotAcquireLockException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.BadSqlGrammarException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.authentication.InternalAuthenticationServiceException;
import org.springframework.transaction.CannotCreateTransactionException;

/** Which failures are the database being unreachable (503) and which are not (they keep their own answers). */
class DatabaseOutageTest {

  @Test
  void connectionFailuresAreOutagesWhereverTheyAreInTheCauseChain() {
    SQLTransientConnectionException poolTimeout =
        new SQLTransientConnectionException("nightshift - Connection is not available, request timed out after 2000ms");
    assertThat(DatabaseOutage.isCause(new CannotGetJdbcConnectionException("no connection", poolTimeout))).isTrue();
    assertThat(DatabaseOutage.isCause(new CannotCreateTransactionException("no transaction", poolTimeout))).isTrue();
    // The password lookup of HTTP Basic and the login form: Spring Security wraps it.
    assertThat(
            DatabaseOutage.isCause(
                new InternalAuthenticationServiceException(
                    "lookup failed", new CannotGetJdbcConnectionException("no connection", poolTimeout))))
        .isTrue();
    assertThat(DatabaseOutage.isCause(new SQLNonTransientConnectionException("Socket fail to connect", "08000")))
        .isTrue();
    assertThat(DatabaseOutage.isCause(new IllegalStateException("cannot set a savepoint", new SQLException("Connection is closed", "08003"))))
        .isTrue();
  }

  @Test
  void aCommitOrRollbackThatCouldNotBeCarriedOutIsAnOutage() {
    // Seen in the chaos suite: the database killed between a transaction's statements and its commit.
    assertThat(DatabaseOutage.isCause(new org.springframework.transaction.TransactionSystemException(
            "Could not commit JDBC transaction", new SQLException("(conn=42) Connection reset"))))
        .isTrue();
  }

  @Test
  void otherFailuresAreNot() {
    assertThat(DatabaseOutage.isCause(new BadCredentialsException("wrong password"))).isFalse();
    assertThat(DatabaseOutage.isCause(new DuplicateKeyException("duplicate"))).isFalse();
    assertThat(DatabaseOutage.isCause(new CannotAcquireLockException("deadlock", new SQLException("Deadlock", "40001", 1213))))
        .isFalse();
    assertThat(DatabaseOutage.isCause(new BadSqlGrammarException("select", "SELEC 1", new SQLException("syntax", "42000"))))
        .isFalse();
    assertThat(DatabaseOutage.isCause(new IllegalArgumentException("bad id"))).isFalse();
  }

  @Test
  void retryAfterIsASpreadOfSecondsAndTheProblemSaysIt() {
    for (int i = 0; i < 100; i++) {
      assertThat(DatabaseOutage.retryAfterSeconds())
          .isBetween(DatabaseOutage.RETRY_AFTER_MIN_SECONDS, DatabaseOutage.RETRY_AFTER_MAX_SECONDS);
    }
    assertThat(DatabaseOutage.problem(5).getStatus()).isEqualTo(503);
    assertThat(DatabaseOutage.problem(5).getDetail()).contains("Try again in 5 s");
  }
}
