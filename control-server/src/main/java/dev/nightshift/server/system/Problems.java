package dev.nightshift.server.system;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes an RFC 9457 problem straight to a servlet response, for the places outside Spring MVC's exception
 * handling ({@link ProblemHandling}): servlet filters, the security chains, the {@code /error} dispatch and Tomcat's
 * own error reports. Every refusal the server sends has this one shape.
 */
public final class Problems {
  /**
   * Request attribute holding a problem that Spring MVC could not send because Tomcat had already suspended the
   * response (the request body ended early: the client closed its side); {@link TomcatErrorReports} sends it.
   */
  static final String UNSENT = Problems.class.getName() + ".unsent";

  private Problems() {}

  /** A problem with the status's reason phrase as its title. */
  public static ProblemDetail of(HttpStatusCode status, String detail) {
    HttpStatus known = HttpStatus.resolve(status.value());
    return of(status, known == null ? "Error " + status.value() : known.getReasonPhrase(), detail);
  }

  public static ProblemDetail of(HttpStatusCode status, String title, String detail) {
    ProblemDetail body = ProblemDetail.forStatusAndDetail(status, detail);
    body.setTitle(title);
    return body;
  }

  /** Sets the status and writes the problem as {@code application/problem+json}; the response must be uncommitted. */
  public static void write(JsonMapper json, HttpServletResponse response, ProblemDetail body) throws IOException {
    response.setStatus(body.getStatus());
    response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
    response.setCharacterEncoding("UTF-8");
    byte[] bytes = json.writeValueAsBytes(body);
    try {
      response.getOutputStream().write(bytes);
    } catch (IllegalStateException writerInUse) {
      response.getWriter().write(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  public static void write(JsonMapper json, HttpServletResponse response, HttpStatusCode status, String detail)
      throws IOException {
    write(json, response, of(status, detail));
  }
}
