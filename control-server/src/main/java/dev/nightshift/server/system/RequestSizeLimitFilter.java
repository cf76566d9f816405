package dev.nightshift.server.system;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bounds every request body: JSON bodies to {@code nightshift.limits.json-body}, streamed NDJSON uploads to
 * {@code nightshift.limits.upload}, agent reports to the result limit plus room for the log. A declared length over
 * the limit is refused before reading; a chunked body is cut off where it passes the limit.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class RequestSizeLimitFilter extends OncePerRequestFilter {
  /** An enrollment is a few hundred bytes and comes before any authentication. */
  static final long REGISTER_LIMIT = 64 * 1024;
  private final NightshiftProperties properties;
  private final JsonMapper json;

  RequestSizeLimitFilter(NightshiftProperties properties, JsonMapper json) {
    this.properties = properties;
    this.json = json;
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    long limit = limitFor(request);
    long declared = request.getContentLengthLong();
    if (declared > limit) {
      response.setHeader("Connection", "close");
      Problems.write(
          json,
          response,
          Problems.of(
              HttpStatus.CONTENT_TOO_LARGE,
              "Request too large",
              "The request body is " + declared + " bytes; the limit here is " + limit + " bytes. "
                  + hint(request)));
      return;
    }
    chain.doFilter(new Limited(request, limit, hint(request)), response);
  }

  private long limitFor(HttpServletRequest request) {
    String type = request.getContentType() == null ? "" : request.getContentType().toLowerCase();
    String uri = request.getRequestURI();
    if (type.startsWith("application/x-ndjson") || type.startsWith("text/csv")) {
      return properties.limits().upload().toBytes();
    }
    if (uri.equals("/agent/v1/register")) {
      return REGISTER_LIMIT; // unauthenticated: small
    }
    if (uri.startsWith("/agent/")) {
      return properties.limits().result().toBytes() + properties.limits().logTail().toBytes() * 8 + 1024 * 1024;
    }
    if (uri.startsWith("/git/")) {
      return Long.MAX_VALUE;
    }
    return properties.limits().jsonBody().toBytes();
  }

  private String hint(HttpServletRequest request) {
    if (request.getRequestURI().startsWith("/api/v1/jobs")) {
      return "Send large inputs as a streamed upload: Content-Type application/x-ndjson, one item per line, the"
          + " job's fields as query parameters.";
    }
    return "Send less data per request.";
  }


  /** A request whose body stream fails once more than {@code limit} bytes were read. */
  private static final class Limited extends HttpServletRequestWrapper {
    private final long limit;
    private final String hint;
    private ServletInputStream stream;

    Limited(HttpServletRequest request, long limit, String hint) {
      super(request);
      this.limit = limit;
      this.hint = hint;
    }

    @Override
    public ServletInputStream getInputStream() throws IOException {
      if (stream == null) {
        ServletInputStream in = super.getInputStream();
        stream =
            new ServletInputStream() {
              private long count;

              @Override
              public int read() throws IOException {
                int b = in.read();
                if (b >= 0) {
                  count(1);
                }
                return b;
              }

              @Override
              public int read(byte[] buf, int off, int len) throws IOException {
                int n = in.read(buf, off, len);
                if (n > 0) {
                  count(n);
                }
                return n;
              }

              private void count(long n) throws IOException {
                count += n;
                if (count > limit) {
                  throw new PayloadTooLargeException(
                      "The request body passed the limit of " + limit + " bytes. " + hint);
                }
              }

              @Override
              public boolean isFinished() {
                return in.isFinished();
              }

              @Override
              public boolean isReady() {
                return in.isReady();
              }

              @Override
              public void setReadListener(ReadListener listener) {
                in.setReadListener(listener);
              }
            };
      }
      return stream;
    }
  }
}
