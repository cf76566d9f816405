package dev.nightshift.agent.client;

import dev.nightshift.agent.identity.AgentInstance;
import dev.nightshift.agent.system.Json;
import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.ReleaseRequest;
import dev.nightshift.protocol.ReleaseResponse;
import dev.nightshift.protocol.ReportResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.function.Supplier;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The agent protocol over HTTP/JSON: POSTs to {@link AgentPaths}, the agent token as a Bearer header, and every
 * refusal turned into a {@link ProtocolException} carrying the status and the problem detail (0 when the server
 * could not be reached).
 */
public final class HttpAgentClient implements AgentProtocol {
  private final String base;
  private final Supplier<String> agentToken;
  private final String agentVersion;
  private final Duration requestTimeout;
  private final Duration claimMargin;
  private final HttpClient http;
  private final JsonMapper json = Json.mapper();
  /** This process's instance: the server refuses a second process using the same identity (a cloned VM). */
  private final AgentInstance instance;

  /**
   * @param server the server's base URL (may carry a path prefix)
   * @param agentToken the current agent token, read at every call (it changes when the agent enrolls again)
   * @param requestTimeout timeout of every request but claim
   * @param claimMargin how much longer than its wait a claim may take
   */
  public HttpAgentClient(
      URI server,
      Supplier<String> agentToken,
      String agentVersion,
      Duration connectTimeout,
      Duration requestTimeout,
      Duration claimMargin) {
    this(server, agentToken, agentVersion, connectTimeout, requestTimeout, claimMargin, null, AgentInstance.fresh());
  }

  /**
   * Like the other constructor, trusting the given CA for HTTPS.
   *
   * @param trustedCa the CA to trust instead of the JDK's defaults, or null for the defaults
   * @param instance this process's instance id and its predecessor's on the same data dir
   */
  public HttpAgentClient(
      URI server,
      Supplier<String> agentToken,
      String agentVersion,
      Duration connectTimeout,
      Duration requestTimeout,
      Duration claimMargin,
      TrustedCa trustedCa,
      AgentInstance instance) {
    this.instance = instance;
    String s = server.toString();
    this.base = s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    this.agentToken = agentToken;
    this.agentVersion = agentVersion;
    this.requestTimeout = requestTimeout;
    this.claimMargin = claimMargin;
    HttpClient.Builder builder =
        HttpClient.newBuilder().connectTimeout(connectTimeout).followRedirects(HttpClient.Redirect.NEVER);
    if (trustedCa != null) {
      builder.sslContext(trustedCa.sslContext());
    }
    this.http = builder.build();
  }

  @Override
  public RegisterResponse register(RegisterRequest request) {
    return post(AgentPaths.REGISTER, request, RegisterResponse.class, requestTimeout, false);
  }

  @Override
  public HeartbeatResponse heartbeat(HeartbeatRequest request) {
    return post(AgentPaths.HEARTBEAT, request, HeartbeatResponse.class, requestTimeout, true);
  }

  @Override
  public ClaimResponse claim(ClaimRequest request) {
    Duration timeout = Duration.ofMillis(Math.max(0, request.waitMillis())).plus(claimMargin);
    return post(AgentPaths.CLAIM, request, ClaimResponse.class, timeout, true);
  }

  @Override
  public ReportResponse complete(CompleteRequest request) {
    return post(AgentPaths.COMPLETE, request, ReportResponse.class, requestTimeout, true);
  }

  @Override
  public ReportResponse fail(FailRequest request) {
    return post(AgentPaths.FAIL, request, ReportResponse.class, requestTimeout, true);
  }

  @Override
  public ReleaseResponse release(ReleaseRequest request) {
    return post(AgentPaths.RELEASE, request, ReleaseResponse.class, requestTimeout, true);
  }

  private <T> T post(String path, Object body, Class<T> type, Duration timeout, boolean authenticated) {
    HttpRequest.Builder req =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, application/problem+json")
            .header("User-Agent", "nightshift-agent/" + agentVersion)
            .header(AgentPaths.AGENT_VERSION_HEADER, agentVersion)
            .header(AgentPaths.AGENT_INSTANCE_HEADER, instance.id())
            .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
    if (instance.previousHeader() != null) {
      req.header(AgentPaths.AGENT_PREVIOUS_INSTANCE_HEADER, instance.previousHeader());
    }
    if (authenticated) {
      String token = agentToken.get();
      if (token == null) {
        throw new ProtocolException(401, "not enrolled yet: no agent token");
      }
      req.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> res;
    try {
      res = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpTimeoutException e) {
      throw new ProtocolException(0, "POST " + path + ": no answer from " + base + " within " + timeout.toSeconds()
          + " s");
    } catch (IOException e) {
      throw new ProtocolException(0, "POST " + path + ": cannot reach " + base + ": " + describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ProtocolException(0, "POST " + path + ": interrupted");
    }
    int status = res.statusCode();
    if (status < 200 || status > 299) {
      throw new ProtocolException(
          status, field(res.body(), "reason"), "POST " + path + ": HTTP " + status + ": " + detail(res.body()),
          retryAfter(res.headers().firstValue("Retry-After").orElse(null)));
    }
    try {
      return json.readValue(res.body(), type);
    } catch (JacksonException e) {
      throw new ProtocolException(0, "POST " + path + ": unreadable answer from " + base + ": "
          + e.getOriginalMessage());
    }
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : " " + m);
  }

  /** {@code Retry-After} in seconds (the server never sends a date), at most 10 minutes; null when absent or odd. */
  static Duration retryAfter(String header) {
    if (header == null || !header.strip().matches("\\d{1,6}")) {
      return null;
    }
    return Duration.ofSeconds(Math.min(600, Long.parseLong(header.strip())));
  }

  /** A text field of a JSON problem body; null when absent or the body is not JSON. */
  private String field(byte[] body, String name) {
    if (body == null || body.length == 0) {
      return null;
    }
    try {
      JsonNode v = json.readTree(body).get(name);
      return v != null && v.isString() ? v.asString() : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The problem's {@code detail} (else {@code title}), else the start of the body. */
  private String detail(byte[] body) {
    if (body == null || body.length == 0) {
      return "(no detail)";
    }
    try {
      JsonNode node = json.readTree(body);
      for (String field : new String[] {"detail", "title", "message", "error"}) {
        JsonNode v = node.get(field);
        if (v != null && v.isString() && !v.asString().isBlank()) {
          return v.asString();
        }
      }
    } catch (RuntimeException e) {
      // not JSON: fall back to text
    }
    String text = new String(body, java.nio.charset.StandardCharsets.UTF_8).strip();
    return text.length() > 200 ? text.substring(0, 200) + "..." : text;
  }
}
