package dev.nightshift.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.ReportStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP client against the JDK's little HTTP server. */
class HttpAgentClientTest {
  private HttpServer server;
  private final Map<String, HttpExchange> seen = new ConcurrentHashMap<>();
  private final Map<String, String> bodies = new ConcurrentHashMap<>();
  private HttpAgentClient client;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    route(AgentPaths.REGISTER, 200, "application/json",
        "{\"workerId\":\"w-1\",\"agentToken\":\"nsa_1\",\"heartbeatMillis\":30000,\"leaseMillis\":120000}");
    route(AgentPaths.COMPLETE, 200, "application/json", "{\"status\":\"DUPLICATE\",\"newField\":true}");
    route(AgentPaths.FAIL, 409, "application/problem+json",
        "{\"type\":\"about:blank\",\"title\":\"Conflict\",\"status\":409,\"detail\":\"lease token stale: batch 7 was reaped\",\"reason\":\"STALE\"}");
    route(AgentPaths.CLAIM, 503, "text/html", "<html>Service Unavailable</html>");
    server.start();
    client = new HttpAgentClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"),
        () -> "nsa_secret", "1.2.3", Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private void route(String path, int status, String type, String body) {
    server.createContext(path, ex -> {
      seen.put(path, ex);
      bodies.put(path, new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", type);
      ex.sendResponseHeaders(status, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
  }

  @Test
  void sendsTheBearerTokenAndVersionAndReadsTheAnswer() {
    Instant t = Instant.parse("2026-11-22T10:00:00Z");
    var r = client.complete(new CompleteRequest(7, "lt", "c", "v", 0, t, t, "out", "log"));

    assertThat(r.status()).isEqualTo(ReportStatus.DUPLICATE);
    HttpExchange ex = seen.get(AgentPaths.COMPLETE);
    assertThat(ex.getRequestMethod()).isEqualTo("POST");
    assertThat(ex.getRequestHeaders().getFirst("Authorization")).isEqualTo("Bearer nsa_secret");
    assertThat(ex.getRequestHeaders().getFirst(AgentPaths.AGENT_VERSION_HEADER)).isEqualTo("1.2.3");
    assertThat(ex.getRequestHeaders().getFirst("Content-Type")).isEqualTo("application/json");
    assertThat(bodies.get(AgentPaths.COMPLETE)).contains("\"batchId\":7", "\"startedAt\":\"2026-11-22T10:00:00Z\"");
  }

  @Test
  void registerSendsNoAgentToken() {
    var r = client.register(new RegisterRequest("enroll", "pc", new HostFacts("pc", "Linux", "amd64", 1, 0, "d", "17"),
        1, Map.of()));

    assertThat(r.workerId()).isEqualTo("w-1");
    assertThat(seen.get(AgentPaths.REGISTER).getRequestHeaders().getFirst("Authorization")).isNull();
  }

  @Test
  void refusalsCarryTheStatusAndTheProblemDetail() {
    assertThatThrownBy(() -> client.fail(null))
        .isInstanceOfSatisfying(ProtocolException.class, e -> {
          assertThat(e.status()).isEqualTo(409);
          assertThat(e.reason()).isEqualTo("STALE");
          assertThat(e.getMessage()).contains("lease token stale: batch 7 was reaped");
        });
    assertThatThrownBy(() -> client.claim(new ClaimRequest(1, 0)))
        .isInstanceOfSatisfying(ProtocolException.class, e -> {
          assertThat(e.status()).isEqualTo(503);
          assertThat(e.isTransient()).isTrue();
          assertThat(e.getMessage()).contains("Service Unavailable");
        });
  }

  @Test
  void anUnreachableServerIsStatusZero() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    HttpAgentClient offline = new HttpAgentClient(URI.create("http://127.0.0.1:" + port), () -> "t", "dev",
        Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));

    assertThatThrownBy(() -> offline.claim(new ClaimRequest(1, 0)))
        .isInstanceOfSatisfying(ProtocolException.class, e -> {
          assertThat(e.status()).isZero();
          assertThat(e.isTransient()).isTrue();
          assertThat(e.getMessage()).contains("cannot reach");
        });
  }

  @Test
  void aClaimWithoutReportsIsSentAsBeforeAndOneWithReportsCarriesThem() {
    var json = dev.nightshift.agent.system.Json.mapper();
    Instant t = Instant.parse("2026-11-22T10:00:00Z");

    assertThat(json.writeValueAsString(new ClaimRequest(2, 30_000)))
        .isEqualTo("{\"freeSlots\":2,\"waitMillis\":30000}");
    ClaimRequest withReport = new ClaimRequest(1, 0,
        java.util.List.of(new CompleteRequest(5, "lt-5", null, null, 0, t, t, "out\n", "")), null);
    ClaimRequest back = json.readValue(json.writeValueAsString(withReport), ClaimRequest.class);
    assertThat(back.completed()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("out\n"));
    assertThat(back.failed()).isNull();
  }

  @Test
  void retryAfterIsReadInSecondsAndBounded() {
    assertThat(HttpAgentClient.retryAfter("7")).isEqualTo(java.time.Duration.ofSeconds(7));
    assertThat(HttpAgentClient.retryAfter(" 12 ")).isEqualTo(java.time.Duration.ofSeconds(12));
    assertThat(HttpAgentClient.retryAfter("999999")).isEqualTo(java.time.Duration.ofMinutes(10));
    assertThat(HttpAgentClient.retryAfter("Wed, 21 Oct 2026 07:28:00 GMT")).isNull();
    assertThat(HttpAgentClient.retryAfter("-1")).isNull();
    assertThat(HttpAgentClient.retryAfter(null)).isNull();
  }
}
