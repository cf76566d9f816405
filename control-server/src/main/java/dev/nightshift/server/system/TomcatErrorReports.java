package dev.nightshift.server.system;

import jakarta.servlet.RequestDispatcher;
import java.io.IOException;
import java.io.Writer;
import org.apache.catalina.Container;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.Valve;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tomcat's error report, as problem+json instead of its HTML page. It answers what Tomcat refuses before any
 * servlet runs (a malformed request line, header or percent-encoding, an encoded '/' in the path, headers over the
 * size limit, a bad Content-Length or Transfer-Encoding) and fills in any error response that would otherwise leave
 * with an empty body. Tomcat's 501 (unknown transfer coding or method) and 505 (unknown HTTP version) become 400:
 * the client sent something it must fix; a 5xx would say the server failed.
 */
final class TomcatErrorReports extends ErrorReportValve {
  private final JsonMapper json;

  private TomcatErrorReports(JsonMapper json) {
    this.json = json;
  }

  /** Puts this valve in place of Tomcat's (and Spring Boot's) error report valve on the context's host. */
  static void install(Container host, JsonMapper json) {
    host.addLifecycleListener(
        event -> {
          if (!Lifecycle.BEFORE_START_EVENT.equals(event.getType())) {
            return;
          }
          for (Valve valve : host.getPipeline().getValves()) {
            if (valve instanceof ErrorReportValve) {
              host.getPipeline().removeValve(valve);
            }
          }
          host.getPipeline().addValve(new TomcatErrorReports(json));
          if (host instanceof StandardHost standard) {
            standard.setErrorReportValveClass(TomcatErrorReports.class.getName()); // so Tomcat adds no other
          }
        });
  }

  @Override
  protected void report(Request request, Response response, Throwable throwable) {
    int status = response.getStatus();
    if (status < 400 || response.getContentWritten() > 0 || response.isCommitted()) {
      return;
    }
    if (response.isError() && !response.setErrorReported()) {
      return; // someone else reports this error
    }
    Throwable error = throwable != null ? throwable : (Throwable) request.getAttribute(RequestDispatcher.ERROR_EXCEPTION);
    String message = response.getMessage();
    if (message == null && error != null) {
      message = error.getMessage();
    }
    if (status == 501 || status == 505) {
      status = HttpStatus.BAD_REQUEST.value();
      message =
          (response.getStatus() == 505 ? "HTTP version not supported: use HTTP/1.1"
              : "method or Transfer-Encoding not supported: use GET, POST, PATCH or DELETE, and chunked or"
                  + " Content-Length")
              + (message == null ? "" : "; " + message);
    }
    String method = request.getCoyoteRequest().method().toString();
    String path = request.getCoyoteRequest().requestURI().toString();
    ProblemDetail body;
    if (request.getAttribute(Problems.UNSENT) instanceof ProblemDetail unsent && unsent.getStatus() == status) {
      body = unsent;
    } else {
      body = ServletErrors.describe(status, error, message, method, path);
      ServletErrors.instance(body, path);
    }
    try {
      response.setStatus(body.getStatus());
      response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
      response.setCharacterEncoding("UTF-8");
      Writer writer = response.getReporter();
      if (writer != null) {
        writer.write(json.writeValueAsString(body));
        response.finishResponse();
      }
    } catch (IOException | IllegalStateException e) {
      // the client is gone or the response is already on its way: nothing more to say
    }
  }
}
