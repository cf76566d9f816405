package dev.nightshift.server.system;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import java.util.stream.Collectors;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.core.JacksonException;

/** Maps every refusal to an RFC 9457 problem whose detail says what to fix. The one place HTTP meets errors. */
@RestControllerAdvice
class ProblemHandling extends ResponseEntityExceptionHandler {
  private static final Logger log = LoggerFactory.getLogger(ProblemHandling.class);

  @ExceptionHandler(ProblemException.class)
  ResponseEntity<Object> problem(ProblemException e, WebRequest request) {
    ProblemDetail body = ProblemDetail.forStatusAndDetail(e.status(), e.getMessage());
    body.setTitle(e.title());
    if (e.reason() != null) {
      body.setProperty("reason", e.reason());
    }
    return handleExceptionInternal(e, body, new HttpHeaders(), e.status(), request);
  }

  @ExceptionHandler(PayloadTooLargeException.class)
  ResponseEntity<Object> tooLarge(PayloadTooLargeException e, WebRequest request) {
    ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.CONTENT_TOO_LARGE, e.getMessage());
    body.setTitle("Request too large");
    return handleExceptionInternal(e, body, new HttpHeaders(), HttpStatus.CONTENT_TOO_LARGE, request);
  }

  /** Spring Security's firewall refuses a parameter or header only when the application first reads it. */
  @ExceptionHandler(org.springframework.security.web.firewall.RequestRejectedException.class)
  ResponseEntity<Object> rejected(
      org.springframework.security.web.firewall.RequestRejectedException e, WebRequest request) {
    ProblemDetail body = RequestChecks.rejected(e);
    return handleExceptionInternal(e, body, new HttpHeaders(), HttpStatus.BAD_REQUEST, request);
  }

  /** Tomcat decodes parameters when they are first read (normally {@link RequestChecks} has done so already). */
  @ExceptionHandler(org.apache.tomcat.util.http.InvalidParameterException.class)
  ResponseEntity<Object> undecodable(org.apache.tomcat.util.http.InvalidParameterException e, WebRequest request) {
    ProblemDetail body = RequestChecks.undecodableParameters(e);
    return handleExceptionInternal(e, body, new HttpHeaders(), HttpStatusCode.valueOf(body.getStatus()), request);
  }

  @ExceptionHandler(Exception.class)
  ResponseEntity<Object> unexpected(Exception e, WebRequest request) throws Exception {
    if (e instanceof org.springframework.security.access.AccessDeniedException
        || e instanceof org.springframework.security.core.AuthenticationException) {
      throw e; // Spring Security's own handlers answer these (also as problem+json).
    }
    if (DatabaseOutage.isCause(e)) { // one test for "the database is unreachable", wherever it is wrapped
      DatabaseOutage.noted(e);
      int retryAfter = DatabaseOutage.retryAfterSeconds();
      HttpHeaders headers = new HttpHeaders();
      headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(retryAfter));
      return handleExceptionInternal(
          e, DatabaseOutage.problem(retryAfter), headers, HttpStatus.SERVICE_UNAVAILABLE, request);
    }
    log.error("unexpected error serving {}", request.getDescription(false), e);
    ProblemDetail body =
        ProblemDetail.forStatusAndDetail(
            HttpStatus.INTERNAL_SERVER_ERROR,
            "The server failed unexpectedly (" + e.getClass().getSimpleName() + "); nothing was changed by this"
                + " request if it was a write. The server log has the details.");
    body.setTitle("Internal error");
    return handleExceptionInternal(e, body, new HttpHeaders(), HttpStatus.INTERNAL_SERVER_ERROR, request);
  }

  @Override
  protected ResponseEntity<Object> handleHttpMessageNotReadable(
      HttpMessageNotReadableException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
    PayloadTooLargeException tooLarge = causeOf(e, PayloadTooLargeException.class);
    if (tooLarge != null) {
      return tooLarge(tooLarge, request);
    }
    ProblemException domain = causeOf(e, ProblemException.class);
    if (domain != null) {
      return problem(domain, request);
    }
    ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, describe(e));
    body.setTitle("Unreadable request body");
    return handleExceptionInternal(e, body, headers, HttpStatus.BAD_REQUEST, request);
  }

  @Override
  protected ResponseEntity<Object> handleHttpMediaTypeNotSupported(
      HttpMediaTypeNotSupportedException e, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
    String supported =
        e.getSupportedMediaTypes().stream().map(Object::toString).collect(Collectors.joining(", "));
    ProblemDetail body =
        ProblemDetail.forStatusAndDetail(
            HttpStatus.UNSUPPORTED_MEDIA_TYPE,
            "Content-Type "
                + (e.getContentType() == null ? "(none)" : e.getContentType())
                + " is not accepted here; send one of: "
                + supported);
    body.setTitle("Unsupported media type");
    return handleExceptionInternal(e, body, headers, HttpStatus.UNSUPPORTED_MEDIA_TYPE, request);
  }

  @Override
  protected ResponseEntity<Object> handleTypeMismatch(
      org.springframework.beans.TypeMismatchException e,
      HttpHeaders headers,
      HttpStatusCode status,
      WebRequest request) {
    String name = e.getPropertyName();
    String where = "parameter";
    if (e instanceof org.springframework.web.method.annotation.MethodArgumentTypeMismatchException m) {
      name = m.getName();
      where =
          m.getParameter().hasParameterAnnotation(org.springframework.web.bind.annotation.PathVariable.class)
              ? "path segment"
              : "query parameter";
    }
    String expected = JsonProblems.typeName(e.getRequiredType());
    if (expected.equals("a whole number")) {
      expected += " in decimal digits";
    }
    ProblemDetail body =
        ProblemDetail.forStatusAndDetail(
            HttpStatus.BAD_REQUEST,
            where + " '" + name + "' must be " + expected
                + " (got '" + ServletErrors.shorten(String.valueOf(e.getValue()), 100) + "')");
    body.setTitle("Invalid request");
    return handleExceptionInternal(e, body, headers, HttpStatus.BAD_REQUEST, request);
  }

  @Override
  protected ResponseEntity<Object> handleNoResourceFoundException(
      org.springframework.web.servlet.resource.NoResourceFoundException e,
      HttpHeaders headers,
      HttpStatusCode status,
      WebRequest request) {
    ProblemDetail body =
        ServletErrors.describe(404, null, null, e.getHttpMethod().name(), "/" + e.getResourcePath());
    return handleExceptionInternal(e, body, headers, HttpStatus.NOT_FOUND, request);
  }

  @Override
  protected ResponseEntity<Object> handleExceptionInternal(
      Exception e, Object body, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
    if (body instanceof ProblemDetail problem) {
      // Sent by the error dispatch or Tomcat's error report instead, should the response be suspended already.
      request.setAttribute(Problems.UNSENT, problem, WebRequest.SCOPE_REQUEST);
    }
    return super.handleExceptionInternal(e, body, headers, status, request);
  }

  static String describe(HttpMessageNotReadableException e) {
    if (causeOf(e, java.io.EOFException.class) != null) {
      return "The request body ended early (the connection was cut, or Content-Length promised more than was"
          + " sent): send the whole request again.";
    }
    JacksonException json = causeOf(e, JacksonException.class);
    if (json == null) {
      String message = e.getMessage() == null ? "" : e.getMessage();
      if (message.startsWith("Required request body is missing")) {
        return "The request body is empty: send JSON.";
      }
      return "The request body could not be read: " + message;
    }
    return JsonProblems.describe(json);
  }

  static <T extends Throwable> T causeOf(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }
}
