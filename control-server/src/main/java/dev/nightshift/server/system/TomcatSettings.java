package dev.nightshift.server.system;

import java.lang.reflect.Field;
import java.nio.CharBuffer;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.connector.CoyoteAdapter;
import org.apache.catalina.connector.InputBuffer;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.coyote.Adapter;
import org.apache.coyote.http11.Http11NioProtocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tomcat sized for thousands of agents, each holding a connection with a parked long-poll claim and one for its
 * heartbeat (see docs/benchmarks.md, "5,000 idle agents"):
 * <ul>
 *   <li>per-connection socket buffers of 4 KB instead of 8 KB (bodies larger than that are simply read in more
 *       steps) and 4 KB for response headers (ours are a few hundred bytes). Request headers keep Tomcat's 8 KB:
 *       browsers send cookies;
 *   <li>a response body buffer of {@value #RESPONSE_BUFFER} bytes instead of 8 KB bytes plus 8 K chars
 *       ({@link CompactHttp11NioProtocol}): a parked claim holds its request's processor, so this is held 5,000
 *       times; a larger body is sent in several chunks from the same socket buffer;
 *   <li>a request's character buffer (for {@code getReader()}) of {@value #READER_CHARS} chars instead of 8 K chars
 *       (16 KB; {@link CompactAdapter}): Tomcat allocates it with every processor although only a reader uses it
 *       (our bodies are read as bytes), and refills or grows it as a reader needs;
 *   <li>trailer fields of chunked requests of at most {@value #MAX_TRAILER_SIZE} bytes instead of 8 KB: Tomcat
 *       allocates that buffer with every processor; no client of ours sends trailers (Tomcat drops those it is not
 *       told to allow anyway), and a request whose trailers are larger is refused with 400;
 *   <li>every processor is kept for reuse ({@code processorCache} -1 instead of 200): with thousands of claims
 *       parked and answered every 30 s, Tomcat otherwise builds a new processor (some 60 KB) for most requests and
 *       drops it later, which is what the collector spent its time copying.
 * </ul>
 * Tomcat's own error reports are problem+json ({@link TomcatErrorReports}).
 */
@Component
class TomcatSettings implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {
  private final JsonMapper json;

  TomcatSettings(JsonMapper json) {
    this.json = json;
  }

  @Override
  public void customize(TomcatServletWebServerFactory factory) {
    factory.setProtocol(CompactHttp11NioProtocol.class.getName());
    factory.addContextCustomizers(context -> TomcatErrorReports.install(context.getParent(), json));
    factory.addConnectorCustomizers(
        connector -> {
          connector.setProperty("socket.appReadBufSize", "4096");
          connector.setProperty("socket.appWriteBufSize", "4096");
          connector.setProperty("maxHttpResponseHeaderSize", "4096");
          connector.setProperty("processorCache", "-1");
          connector.setProperty("maxTrailerSize", String.valueOf(MAX_TRAILER_SIZE));
          if (connector.getProtocolHandler() instanceof CompactHttp11NioProtocol compact) {
            compact.connector = connector;
          }
        });
  }

  static final int RESPONSE_BUFFER = 2048;

  static final int READER_CHARS = 256;
  static final int MAX_TRAILER_SIZE = 256;

  /**
   * Tomcat's NIO HTTP/1.1 protocol with a smaller response body buffer and the {@link CompactAdapter} (public:
   * Tomcat instantiates it by name).
   */
  public static class CompactHttp11NioProtocol extends Http11NioProtocol {
    private Connector connector;

    @Override
    public int getDesiredBufferSize() {
      return RESPONSE_BUFFER;
    }

    /** The connector sets its {@link CoyoteAdapter} here when it starts; requests then go through ours. */
    @Override
    public void setAdapter(Adapter adapter) {
      super.setAdapter(connector != null && adapter instanceof CoyoteAdapter ? new CompactAdapter(connector) : adapter);
    }
  }

  /**
   * Tomcat's adapter, except that each processor's servlet request is made here (as {@link CoyoteAdapter} makes
   * it) with a character buffer of {@value #READER_CHARS} chars instead of the 16 KB Tomcat allocates: a parked
   * claim holds its processor, so 5,000 agents held 80 MB of buffers no request used. Tomcat's {@link InputBuffer}
   * grows the buffer when a reader marks more than it holds, and takes it back to its own size when recycled
   * only if it grew beyond that, so the buffer is checked at the start of every request (before anything reads).
   * The buffer is a private field without a setter: if a Tomcat version renames it, requests keep Tomcat's
   * buffer and the start log says so once.
   */
  static final class CompactAdapter extends CoyoteAdapter {
    private static final Logger log = LoggerFactory.getLogger(CompactAdapter.class);
    private static final Field INPUT_BUFFER = field(Request.class, "inputBuffer");
    private static final Field CHARS = field(InputBuffer.class, "cb");

    private final Connector connector;

    CompactAdapter(Connector connector) {
      super(connector);
      this.connector = connector;
    }

    @Override
    public void service(org.apache.coyote.Request req, org.apache.coyote.Response res) throws Exception {
      compact(servletRequest(req, res));
      super.service(req, res);
    }

    /** The processor's servlet request, made and attached as {@link CoyoteAdapter#service} does if not yet. */
    Request servletRequest(org.apache.coyote.Request req, org.apache.coyote.Response res) {
      Request request = (Request) req.getNote(ADAPTER_NOTES);
      if (request == null) {
        request = connector.createRequest(req);
        Response response = connector.createResponse(res);
        request.setResponse(response);
        response.setRequest(request);
        req.setNote(ADAPTER_NOTES, request);
        res.setNote(ADAPTER_NOTES, response);
      }
      return request;
    }

    /** Gives the request a {@value #READER_CHARS}-char buffer unless its buffer is that small already. */
    static void compact(Request request) {
      if (INPUT_BUFFER == null || CHARS == null) {
        return;
      }
      try {
        InputBuffer input = (InputBuffer) INPUT_BUFFER.get(request);
        if (((CharBuffer) CHARS.get(input)).capacity() > READER_CHARS) {
          CHARS.set(input, CharBuffer.allocate(READER_CHARS).limit(0));
        }
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e); // accessible since class initialisation
      }
    }

    /** A request's character buffer, for tests. */
    static CharBuffer chars(Request request) throws IllegalAccessException {
      return (CharBuffer) CHARS.get(INPUT_BUFFER.get(request));
    }

    private static Field field(Class<?> type, String name) {
      try {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
      } catch (ReflectiveOperationException | RuntimeException e) {
        log.warn("Tomcat's request buffers stay at their default size ({}.{} not accessible: {})",
            type.getSimpleName(), name, e.toString());
        return null;
      }
    }
  }
}
