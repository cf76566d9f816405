package dev.nightshift.server.system;

import org.apache.coyote.http11.Http11NioProtocol;
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
        });
  }

  static final int RESPONSE_BUFFER = 2048;

  /** Tomcat's NIO HTTP/1.1 protocol with a smaller response body buffer (public: Tomcat instantiates it by name). */
  public static class CompactHttp11NioProtocol extends Http11NioProtocol {
    @Override
    public int getDesiredBufferSize() {
      return RESPONSE_BUFFER;
    }
  }
}
