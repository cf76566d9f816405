package dev.nightshift.server.system;

import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.RecoverableDataAccessException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * A handler that fails because the database is unreachable answers 503 problem+json with {@code Retry-After}, not
 * 500. Ordered before {@link ProblemHandling}: Spring matches these types anywhere in the cause chain, so a
 * database failure wrapped in another exception (the batch engine's, a savepoint's) is answered 503 too.
 */
@RestControllerAdvice
@Order(Ordered.HIGHEST_PRECEDENCE)
class DatabaseOutageHandling {

  @ExceptionHandler({
    DataAccessResourceFailureException.class,
    TransientDataAccessResourceException.class,
    RecoverableDataAccessException.class,
    CannotCreateTransactionException.class,
    SQLTransientConnectionException.class,
    SQLNonTransientConnectionException.class,
    SQLRecoverableException.class
  })
  ResponseEntity<ProblemDetail> databaseUnavailable(Exception e) {
    DatabaseOutage.noted(e);
    int retryAfter = DatabaseOutage.retryAfterSeconds();
    return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
        .header("Retry-After", String.valueOf(retryAfter))
        .body(DatabaseOutage.problem(retryAfter));
  }
}
