package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.connector.Request;
import org.apache.tomcat.util.net.ApplicationBufferHandler;
import org.junit.jupiter.api.Test;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServer;
import tools.jackson.databind.json.JsonMapper;

/** Tomcat as {@link TomcatSettings} shapes it: small per-request buffers that still carry any body. */
class TomcatSettingsTest {
  /** A body far larger than the reader's buffer, with characters of 1, 2 and 3 bytes in UTF-8. */
  private static final String BODY = "a\u00e4\u20ac".repeat(30_000);

  @Test
  void aProcessorsRequestGetsASmallReaderBufferThatStillReadsALongBody() throws Exception {
    Connector connector = new Connector(TomcatSettings.CompactHttp11NioProtocol.class.getName());
    TomcatSettings.CompactAdapter adapter = new TomcatSettings.CompactAdapter(connector);
    org.apache.coyote.Request req = new org.apache.coyote.Request();
    org.apache.coyote.Response res = new org.apache.coyote.Response();
    req.setResponse(res);
    Request request = adapter.servletRequest(req, res);
    assertThat(adapter.servletRequest(req, res)).as("made once per processor").isSameAs(request);
    assertThat(TomcatSettings.CompactAdapter.chars(request).capacity()).as("Tomcat's own").isEqualTo(8192);

    TomcatSettings.CompactAdapter.compact(request);
    assertThat(TomcatSettings.CompactAdapter.chars(request).capacity()).isEqualTo(TomcatSettings.READER_CHARS);

    byte[] bytes = BODY.getBytes(StandardCharsets.UTF_8);
    req.setInputBuffer(
        new org.apache.coyote.InputBuffer() {
          private boolean read;

          @Override
          public int doRead(ApplicationBufferHandler handler) {
            if (read) {
              return -1;
            }
            read = true;
            handler.setByteBuffer(ByteBuffer.wrap(bytes));
            return bytes.length;
          }

          @Override
          public int available() {
            return read ? 0 : bytes.length;
          }
        });
    req.setCharset(StandardCharsets.UTF_8);
    StringBuilder got = new StringBuilder();
    request.getReader().transferTo(new java.io.Writer() {
      @Override
      public void write(char[] c, int off, int len) {
        got.append(c, off, len);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    });
    assertThat(got.toString()).isEqualTo(BODY);

    request.recycle();
    assertThat(TomcatSettings.CompactAdapter.chars(request).capacity()).isEqualTo(TomcatSettings.READER_CHARS);
  }

  @Test
  void theServerUsesTheCompactAdapterAndReadsBodiesThroughReadersAndStreams() throws Exception {
    TomcatServletWebServerFactory factory = new TomcatServletWebServerFactory(0);
    new TomcatSettings(JsonMapper.builder().build()).customize(factory);
    WebServer server =
        factory.getWebServer(
            context -> {
              context.addServlet("reader", new Echo(true)).addMapping("/reader");
              context.addServlet("stream", new Echo(false)).addMapping("/stream");
            });
    server.start();
    try {
      Connector connector = ((TomcatWebServer) server).getTomcat().getConnector();
      assertThat(connector.getProtocolHandler().getAdapter()).isInstanceOf(TomcatSettings.CompactAdapter.class);
      HttpClient client = HttpClient.newHttpClient();
      for (String path : new String[] {"/reader", "/stream", "/reader", "/stream"}) {
        HttpResponse<String> answer =
            client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getPort() + path))
                    .header("Content-Type", "text/plain; charset=UTF-8")
                    .POST(HttpRequest.BodyPublishers.ofString(BODY, StandardCharsets.UTF_8))
                    .build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(answer.statusCode()).as(path).isEqualTo(200);
        assertThat(answer.body()).as(path).isEqualTo(BODY);
      }
      assertThat(chunked(server.getPort(), "X-Trailer: 1\r\n")).startsWith("HTTP/1.1 200").endsWith(BODY);
      assertThat(chunked(server.getPort(), "X-Trailer: " + "t".repeat(TomcatSettings.MAX_TRAILER_SIZE) + "\r\n"))
          .startsWith("HTTP/1.1 400");
    } finally {
      server.stop();
    }
  }

  /** BODY posted to /stream in chunks of 1,000 bytes with the given trailer fields; the raw answer. */
  private static String chunked(int port, String trailers) throws IOException {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      java.io.OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                  + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < body.length; i += 1000) {
        int n = Math.min(1000, body.length - i);
        out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body, i, n);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      out.write(("0\r\n" + trailers + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return answer.startsWith("HTTP/1.1 200") ? dechunk(answer) : answer;
    }
  }

  /** The status line and the body of a raw answer, its chunked body joined. */
  private static String dechunk(String answer) {
    int start = answer.indexOf("\r\n\r\n") + 4;
    if (!answer.substring(0, start).toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
      return answer.substring(0, answer.indexOf("\r\n")) + answer.substring(start);
    }
    StringBuilder body = new StringBuilder(answer.substring(0, answer.indexOf("\r\n")));
    byte[] bytes = answer.substring(start).getBytes(StandardCharsets.UTF_8);
    int i = 0;
    while (true) {
      int eol = indexOf(bytes, i);
      int size = Integer.parseInt(new String(bytes, i, eol - i, StandardCharsets.US_ASCII).trim(), 16);
      if (size == 0) {
        return body.toString();
      }
      body.append(new String(bytes, eol + 2, size, StandardCharsets.UTF_8));
      i = eol + 2 + size + 2;
    }
  }

  private static int indexOf(byte[] bytes, int from) {
    for (int i = from; i < bytes.length - 1; i++) {
      if (bytes[i] == '\r' && bytes[i + 1] == '\n') {
        return i;
      }
    }
    throw new IllegalStateException("no line end");
  }

  /** Answers with the body it read, through the request's reader or its input stream. */
  private static final class Echo extends HttpServlet {
    private final boolean reader;

    Echo(boolean reader) {
      this.reader = reader;
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
      String body =
          reader
              ? request.getReader().lines().reduce((a, b) -> a + "\n" + b).orElse("")
              : new String(request.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      response.setContentType("text/plain; charset=UTF-8");
      response.getWriter().write(body);
    }
  }
}
