package dev.nightshift.server.system;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Locale;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Refuses, before anything else reads them, requests whose query string or form body cannot be decoded: bad
 * percent-encoding, bytes that are not UTF-8 (also overlong forms and encoded surrogates), too many parameters.
 * Tomcat throws from the first {@code getParameter} call, wherever it happens (a security filter, a controller), and
 * the request would end as a 500. Also answers requests that Spring Security's firewall rejects (a {@code //},
 * {@code ;}, encoded {@code .} or {@code /} in the URL, control characters in headers, unknown methods).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 5)
class RequestChecks extends OncePerRequestFilter implements RequestRejectedHandler {
  private final JsonMapper json;

  RequestChecks(JsonMapper json) {
    this.json = json;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if (request.getRequestURI().contains("//")) {
      // The firewall refuses '//' in paths the dispatcher serves; under /git/* Tomcat's mapping merges the slashes
      // first, and JGit then fails to find its path (a 500).
      Problems.write(
          json,
          response,
          rejected(new RequestRejectedException("The request was rejected because the URL contained \"//\"")));
      return;
    }
    String type = request.getContentType();
    String typeProblem = contentTypeProblem(type);
    if (typeProblem != null) {
      Problems.write(json, response, Problems.of(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", typeProblem));
      return;
    }
    // Multipart parsing is off (nothing takes multipart bodies); never let a parameter lookup read one.
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/")) {
      try {
        request.getParameterMap();
      } catch (InvalidParameterException e) {
        response.setHeader("Connection", "close"); // the rest of a refused form body is not read
        Problems.write(json, response, undecodableParameters(e));
        return;
      }
    }
    chain.doFilter(request, response);
  }

  /**
   * What is wrong with a Content-Type header, or null: it must be one concrete media type. Spring throws a plain
   * IllegalArgumentException (a 500) deep in request reading for a wildcard such as {@code application/*}.
   */
  static String contentTypeProblem(String type) {
    if (type == null || type.isBlank()) {
      return null;
    }
    try {
      MediaType media = MediaType.parseMediaType(type);
      if (!media.isConcrete()) {
        return "Content-Type " + ServletErrors.shorten(type, 100) + " is a wildcard: name the body's type, e.g."
            + " application/json";
      }
      return null;
    } catch (InvalidMediaTypeException e) {
      return "Content-Type " + ServletErrors.shorten(type, 100) + " is not a media type (" + ServletErrors.shorten(
          e.getMessage(), 200) + "): send e.g. application/json";
    }
  }

  /** Spring Security's firewall refused the request (the one {@link RequestRejectedHandler} bean: this filter). */
  @Override
  public void handle(HttpServletRequest request, HttpServletResponse response, RequestRejectedException e)
      throws IOException {
    if (!response.isCommitted()) {
      ProblemDetail body = rejected(e);
      ServletErrors.instance(body, request.getRequestURI());
      Problems.write(json, response, body);
    }
  }

  private static final java.util.regex.Pattern TOMCAT_PARAMETER =
      java.util.regex.Pattern.compile("Parameter \\[([^\\]]{0,100})\\]");

  static ProblemDetail undecodableParameters(InvalidParameterException e) {
    int code = e.getErrorCode();
    HttpStatusCode status = code >= 400 && code < 500 ? HttpStatusCode.valueOf(code) : HttpStatus.BAD_REQUEST;
    String message = e.getMessage() == null ? "" : e.getMessage();
    if (status.value() == HttpStatus.CONTENT_TOO_LARGE.value()) {
      return Problems.of(
          status,
          "Request too large",
          "The form body is too large (" + ServletErrors.shorten(message, 200) + "): send JSON to the API instead.");
    }
    if (message.contains("maximum number of request parameters")) {
      return Problems.of(
          status,
          "Too many parameters",
          "More than 1000 query parameters and form fields: send at most 1000 (large inputs go in a JSON or NDJSON"
              + " body).");
    }
    java.util.regex.Matcher named = TOMCAT_PARAMETER.matcher(message);
    String which =
        message.startsWith("Character decoding failed") && named.find()
            ? "Parameter '" + named.group(1) + "' is not valid UTF-8"
            : "A query parameter or form field could not be decoded (" + ServletErrors.shorten(message, 200) + ")";
    return Problems.of(
        status,
        "Undecodable parameters",
        which + ": percent-encode UTF-8 text (e.g. 'é' as %C3%A9, a literal '%' as %25), with at most 1000"
            + " parameters.");
  }

  static ProblemDetail rejected(RequestRejectedException e) {
    String message = e.getMessage() == null ? "the request is not allowed" : e.getMessage();
    while (message.endsWith(".")) {
      message = message.substring(0, message.length() - 1);
    }
    return Problems.of(
        HttpStatus.BAD_REQUEST,
        "Request rejected",
        ServletErrors.shorten(message, 300)
            + ". Send a normalized URL (no '//', '/./', '/../' or ';', no encoded '/', '\\', '.' or '%'), header"
            + " names and values without control characters, and a standard HTTP method.");
  }
}
