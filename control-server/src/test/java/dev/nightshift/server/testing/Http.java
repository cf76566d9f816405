package dev.nightshift.server.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Real HTTP against a running server, as an admin, an operator, an agent or nobody. */
public final class Http {
  public static final String ADMIN_PASSWORD = "admin-test-password";
  public static final String ENROLLMENT_TOKEN = "test-enrollment-token";
  public static final JsonMapper JSON = JsonMapper.builder().build();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String base;
  private final String authorization;
  private final java.util.Map<String, String> headers;

  private Http(String base, String authorization) {
    this(base, authorization, java.util.Map.of());
  }

  private Http(String base, String authorization, java.util.Map<String, String> headers) {
    this.base = base;
    this.authorization = authorization;
    this.headers = headers;
  }

  /** The same caller, sending one more header on every request. */
  public Http withHeader(String name, String value) {
    java.util.Map<String, String> more = new java.util.LinkedHashMap<>(headers);
    more.put(name, value);
    return new Http(base, authorization, more);
  }

  public static Http anonymous(int port) {
    return new Http("http://127.0.0.1:" + port, null);
  }

  public static Http admin(int port) {
    return basic(port, "admin", ADMIN_PASSWORD);
  }

  public static Http basic(int port, String user, String password) {
    String encoded =
        Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    return new Http("http://127.0.0.1:" + port, "Basic " + encoded);
  }

  public static Http bearer(int port, String token) {
    return new Http("http://127.0.0.1:" + port, "Bearer " + token);
  }

  /** An HTTP answer. */
  public record Response(int status, String contentType, String body, java.net.http.HttpHeaders headers) {
    public JsonNode json() {
      return JSON.readTree(body);
    }

    public String detail() {
      return json().path("detail").asString();
    }

    public boolean isProblem() {
      return contentType != null && contentType.startsWith("application/problem+json");
    }

    @Override
    public String toString() {
      return status + " " + contentType + " " + body;
    }
  }

  public Response get(String path) {
    return send(request(path).GET());
  }

  public Response post(String path, Object json) {
    String body = json instanceof String s ? s : JSON.writeValueAsString(json);
    return post(path, body, "application/json");
  }

  public Response post(String path, String body, String contentType) {
    HttpRequest.Builder b = request(path).POST(HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return send(b);
  }

  public Response post(String path, HttpRequest.BodyPublisher body, String contentType) {
    return send(request(path).POST(body).header("Content-Type", contentType));
  }

  public Response patch(String path, Object json) {
    String body = json instanceof String s ? s : JSON.writeValueAsString(json);
    return send(
        request(path).method("PATCH", HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json"));
  }

  /** Any method, with an optional JSON body. */
  public Response send(String method, String path, String jsonBody) {
    HttpRequest.Builder b =
        request(path)
            .method(
                method,
                jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody));
    if (jsonBody != null) {
      b.header("Content-Type", "application/json");
    }
    return send(b);
  }

  public Response delete(String path) {
    return send(request(path).DELETE());
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    headers.forEach(b::header);
    return b;
  }

  private Response send(HttpRequest.Builder b) {
    try {
      HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(
          r.statusCode(), r.headers().firstValue("Content-Type").orElse(null), r.body(), r.headers());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
