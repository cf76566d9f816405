package dev.nightshift.server.system;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.webmvc.error.ErrorAttributes;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.multipart.MultipartException;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers what reaches the servlet container's error dispatch ({@code /error}) — a {@code sendError} from a filter,
 * Spring Security's firewall or a servlet, an exception thrown outside Spring MVC — as problem+json, in place of
 * Spring Boot's default JSON and Whitelabel page. The descriptions are shared with {@link TomcatErrorReports}, which
 * answers what Tomcat refuses before any servlet runs.
 */
@Controller
class ServletErrors implements ErrorController {
  private static final Logger log = LoggerFactory.getLogger(ServletErrors.class);
  private final ErrorAttributes errors;
  private final JsonMapper json;

  ServletErrors(ErrorAttributes errors, JsonMapper json) {
    this.errors = errors;
    this.json = json;
  }

  @RequestMapping("${spring.web.error.path:/error}")
  void error(HttpServletRequest request, HttpServletResponse response) throws IOException {
    Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
    int status = code instanceof Integer i ? i : HttpStatus.NOT_FOUND.value(); // /error asked for directly
    Throwable error = errors.getError(new ServletWebRequest(request));
    Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
    Object uri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
    String path = uri == null ? request.getRequestURI() : uri.toString();
    ProblemDetail body =
        request.getAttribute(Problems.UNSENT) instanceof ProblemDetail unsent && unsent.getStatus() == status
            ? unsent // Spring MVC's answer, which it could not send itself
            : describe(status, error, message == null ? null : message.toString(), request.getMethod(), path);
    if (body.getStatus() >= 500) {
      log.error("unexpected error serving {} {}", request.getMethod(), path, error);
    }
    instance(body, path);
    if (response.isCommitted()) {
      return;
    }
    response.resetBuffer();
    Problems.write(json, response, body);
  }

  /** The problem for an error status, the exception behind it (or null) and the container's message (or null). */
  static ProblemDetail describe(int status, Throwable error, String message, String method, String path) {
    InvalidParameterException parameter = ProblemHandling.causeOf(error, InvalidParameterException.class);
    if (parameter != null) {
      return RequestChecks.undecodableParameters(parameter);
    }
    RequestRejectedException rejected = ProblemHandling.causeOf(error, RequestRejectedException.class);
    if (rejected != null) {
      return RequestChecks.rejected(rejected);
    }
    PayloadTooLargeException tooLarge = ProblemHandling.causeOf(error, PayloadTooLargeException.class);
    if (tooLarge != null) {
      return Problems.of(HttpStatus.CONTENT_TOO_LARGE, "Request too large", tooLarge.getMessage());
    }
    if (ProblemHandling.causeOf(error, MultipartException.class) != null) {
      return Problems.of(
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          "Unsupported media type",
          "multipart bodies are not accepted anywhere: send JSON (application/json), or NDJSON"
              + " (application/x-ndjson) to upload job items");
    }
    ProblemException domain = ProblemHandling.causeOf(error, ProblemException.class);
    if (domain != null) {
      return Problems.of(domain.status(), domain.title(), domain.getMessage());
    }
    HttpStatusCode code = HttpStatusCode.valueOf(status < 400 || status > 599 ? 500 : status);
    String what = method + " " + shorten(path, 200);
    String detail =
        switch (code.value()) {
          case 400 -> "The request is malformed"
              + (blank(message) ? "" : " (" + shorten(message, 300) + ")")
              + ": " + hint400(message);
          case 401 -> "Authentication required: send valid credentials (see docs/security.md).";
          case 403 -> "Your credentials may not do " + what + ".";
          case 404 -> "There is nothing at " + shorten(path, 200) + ": the admin API is under /api/v1, the agent"
              + " protocol under /agent/v1, the dashboard under /ui, code at /git/code.git (see docs/api.md).";
          case 405 -> (blank(message) ? "The method " + method + " is not allowed" : shorten(message, 200))
              + " on " + shorten(path, 200) + ": see docs/api.md for what each path accepts.";
          case 406 -> "The Accept header allows nothing this endpoint sends: accept application/json (errors come"
              + " as application/problem+json).";
          case 408 -> "The request took too long to arrive: send it again, faster.";
          case 413 -> "The request is too large: send less data per request (see the limits in docs/api.md).";
          case 414 -> "The URL is too long: put large inputs in the request body.";
          case 417 -> "The Expect header asks for something this server does not do: send no Expect header, or"
              + " Expect: 100-continue.";
          case 416 -> "The Range header cannot be served: ask for bytes that exist, as bytes=first-last, or send no"
              + " Range.";
          case 431 -> "The request headers are too large (at most 8 KB together): send fewer or shorter headers.";
          default -> code.is5xxServerError()
              ? "The server failed unexpectedly"
                  + (error == null ? "" : " (" + error.getClass().getSimpleName() + ")")
                  + "; nothing was changed by this request if it was a write. The server log has the details."
              : (blank(message) ? "HTTP " + code.value() + " for " + what : shorten(message, 300))
                  + ": see docs/api.md.";
        };
    return Problems.of(code, detail);
  }

  /** What to fix, for Tomcat's reasons for a 400. */
  private static String hint400(String message) {
    String m = message == null ? "" : message;
    if (m.contains("too large")) {
      return "send a shorter URL and fewer or shorter headers (request line and headers together at most 8 KB);"
          + " put large inputs in the body.";
    }
    if (m.contains("header")) {
      return "send header names without spaces and header values without control characters, one Host header.";
    }
    if (m.contains("URI") || m.contains("request target")) {
      return "percent-encode the URL as UTF-8 (no encoded '/', '\\' or NUL; '%' followed by two hex digits).";
    }
    return "check the URL (a path starting with '/', valid percent-encoded UTF-8), the headers (one Host, a"
        + " valid Content-Length or chunked Transfer-Encoding) and the body.";
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  static String shorten(String s, int max) {
    if (s == null) {
      return "";
    }
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }

  /** Names the request path as the problem's {@code instance}, when it is a valid URI reference. */
  static void instance(ProblemDetail body, String path) {
    try {
      if (path != null && !path.isEmpty()) {
        body.setInstance(java.net.URI.create(path));
      }
    } catch (IllegalArgumentException notAUri) {
      // a malformed path is left out
    }
  }
}
