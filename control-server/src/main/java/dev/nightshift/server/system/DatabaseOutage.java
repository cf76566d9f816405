package dev.nightshift.server.system;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.RecoverableDataAccessException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.transaction.CannotCreateTransactionException;
import tools.jackson.databind.json.JsonMapper;

/**
 * The database cannot be reached (down, restarting, cut off, or every pooled connection busy past the pool's
 * timeout): how to recognise it in any exception, and the answer every caller gets for it, 503 problem+json with
 * {@code Retry-After}. Used where such failures surface: MVC handlers ({@link ProblemHandling}), the
 * security filters' token and password lookups ({@link DatabaseOutageFilter}, the authentication entry points, so
 * that right credentials are never answered 401 and never count toward the lockout) and the batch engine.
 */
public final class DatabaseOutage {
  private static final Logger log = LoggerFactory.getLogger(DatabaseOutage.class);
  /** Retry-After is drawn from this range, so thousands of agents told to wait do not all come back at once. */
  static final int RETRY_AFTER_MIN_SECONDS = 3;

  static final int RETRY_AFTER_MAX_SECONDS = 8;
  private static final long LOG_EVERY_NANOS = 10_000_000_000L;
  private static final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);
  private static final AtomicLong unlogged = new AtomicLong();

  private DatabaseOutage() {}

  /** Whether this failure, or one of its causes, is the database being unreachable. */
  public static boolean isCause(Throwable failure) {
    int depth = 0;
    for (Throwable t = failure; t != null && depth < 32; t = t.getCause(), depth++) {
      if (t instanceof DataAccessResourceFailureException // includes CannotGetJdbcConnectionException
          || t instanceof TransientDataAccessResourceException
          || t instanceof RecoverableDataAccessException
          || t instanceof CannotCreateTransactionException
          || t instanceof SQLTransientConnectionException // the pool's "Connection is not available"
          || t instanceof SQLNonTransientConnectionException // MariaDB: refused, reset, closed
          || t instanceof SQLRecoverableException) { // MySQL Connector/J: CommunicationsException
        return true;
      }
      if (t instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("08")) {
        return true; // SQLSTATE class 08: connection exception
      }
      if (t instanceof org.springframework.transaction.TransactionSystemException) {
        // A commit or rollback that could not be carried out: the connection broke mid-transaction (the chaos
        // suite's database kill), so the outcome is unknown; every agent write is fenced and idempotent, so "try
        // again" (503) is the true answer. The failure that caused the rollback, if any, is not in the cause chain.
        return true;
      }
    }
    return false;
  }

  /** Seconds the caller should wait before trying again. */
  public static int retryAfterSeconds() {
    return ThreadLocalRandom.current().nextInt(RETRY_AFTER_MIN_SECONDS, RETRY_AFTER_MAX_SECONDS + 1);
  }

  /** The problem for an answer that sends {@code Retry-After: retryAfter}. */
  public static ProblemDetail problem(int retryAfter) {
    ProblemDetail body =
        ProblemDetail.forStatusAndDetail(
            HttpStatus.SERVICE_UNAVAILABLE,
            "The server cannot reach its database right now (it is down, restarting or overloaded), so this"
                + " request was not carried out. Try again in " + retryAfter + " s (Retry-After); agents keep their"
                + " results and send them again by themselves.");
    body.setTitle("Database unavailable");
    return body;
  }

  /** Answers a servlet response (outside Spring MVC: the security filters) with the 503 problem. */
  public static void answer(HttpServletResponse response, JsonMapper json, Throwable failure) throws IOException {
    noted(failure);
    int retryAfter = retryAfterSeconds();
    response.resetBuffer();
    response.setStatus(HttpStatus.SERVICE_UNAVAILABLE.value());
    response.setHeader("Retry-After", String.valueOf(retryAfter));
    response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
    json.writeValue(response.getOutputStream(), problem(retryAfter));
  }

  /**
   * Logs an outage at most once every 10 s, with how many more failures there were since: during an outage every
   * request fails the same way, and thousands of agents must not flood the log.
   */
  public static void noted(Throwable failure) {
    long now = System.nanoTime();
    long last = lastLogged.get();
    if (now - last >= LOG_EVERY_NANOS && lastLogged.compareAndSet(last, now)) {
      long more = unlogged.getAndSet(0);
      log.warn(
          "database unavailable, answering 503 with Retry-After{}: {}",
          more > 0 ? " (" + more + " more failures since the last message)" : "",
          rootMessage(failure));
    } else {
      unlogged.incrementAndGet();
      log.debug("database unavailable", failure);
    }
  }

  private static String rootMessage(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == failure ? failure.toString() : failure.getClass().getSimpleName() + " <- " + t;
  }
}
