package dev.nightshift.server.system;

import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tomcat sized for thousands of agents, each holding a connection with a parked long-poll claim and one for its
 * heartbeat: per-connection socket buffers of 4 KB instead of 8 KB (bodies larger than that are simply read in more
 * steps) and 4 KB for response headers (ours are a few hundred bytes). Request headers keep Tomcat's 8 KB: browsers
 * send cookies. With 5,000 agents this is tens of MB of heap less (see docs/benchmarks.md). Tomcat's own error
 * reports are problem+json ({@link TomcatErrorReports}).
 */
@Component
class TomcatSettings implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {
  private final JsonMapper json;

  TomcatSettings(JsonMapper json) {
    this.json = json;
  }

  @Override
  public void customize(TomcatServletWebServerFactory factory) {
    factory.addContextCustomizers(context -> TomcatErrorReports.install(context.getParent(), json));
    factory.addConnectorCustomizers(
        connector -> {
          connector.setProperty("socket.appReadBufSize", "4096");
          connector.setProperty("socket.appWriteBufSize", "4096");
          connector.setProperty("maxHttpResponseHeaderSize", "4096");
        });
  }
}
