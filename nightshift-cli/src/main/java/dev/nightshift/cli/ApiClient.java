package dev.nightshift.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The admin API over HTTP: turns problem+json refusals and connection failures into {@link CliException}s. */
final class ApiClient {
  static final JsonMapper JSON = JsonMapper.builder().build();
  private final String server;
  private final String authorization;
  private final HttpClient http;

  ApiClient(Config config) {
    this.server = config.server();
    if (config.token() != null) {
      this.authorization = "Bearer " + config.token();
    } else if (config.user() != null) {
      if (config.password() == null) {
        throw new CliException(
            CliException.AUTH,
            "no password for user " + config.user() + ": set NIGHTSHIFT_PASSWORD or put password= in the config file");
      }
      this.authorization =
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((config.user() + ":" + config.password()).getBytes(StandardCharsets.UTF_8));
    } else {
      throw new CliException(
          CliException.AUTH,
          "no credentials: give --token (or NIGHTSHIFT_TOKEN), or --user with NIGHTSHIFT_PASSWORD, or a config file"
              + " (see docs/cli.md)");
    }
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** An answer that passed: status, body and headers. */
  record Answer(int status, String body, java.net.http.HttpHeaders headers) {
    JsonNode json() {
      return JSON.readTree(body);
    }
  }

  Answer get(String path) {
    return send(request(path).GET().build());
  }

  Answer post(String path, Object jsonBody) {
    HttpRequest.Builder b = request(path);
    if (jsonBody == null) {
      b.POST(HttpRequest.BodyPublishers.noBody());
    } else {
      String text = jsonBody instanceof String s ? s : JSON.writeValueAsString(jsonBody);
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(text));
    }
    return send(b.build());
  }

  Answer delete(String path) {
    return send(request(path).DELETE().build());
  }

  /** Posts a body read from {@code body} (chunked), as it is read. */
  Answer upload(String path, String contentType, InputStream body) {
    return send(
        request(path)
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> body))
            .build());
  }

  /** Opens a streamed answer (results); the caller closes the stream. */
  HttpResponse<InputStream> open(String path) {
    HttpResponse<InputStream> r = exchange(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() >= 400) {
      String body;
      try (InputStream in = r.body()) {
        body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        body = "";
      }
      throw refused(r.statusCode(), body, r.headers().firstValue("Content-Type").orElse(""));
    }
    return r;
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(server + path))
        .header("Authorization", authorization)
        .header("Accept", "application/json, application/x-ndjson, application/problem+json")
        .header("User-Agent", "nightshift-cli");
  }

  private Answer send(HttpRequest req) {
    HttpResponse<String> r = exchange(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (r.statusCode() >= 400) {
      throw refused(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
    }
    return new Answer(r.statusCode(), r.body(), r.headers());
  }

  private <T> HttpResponse<T> exchange(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(req, handler);
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.failure("interrupted");
    }
  }

  private CliException unreachable(IOException e) {
    Throwable cause = e;
    while (cause != null) {
      if (cause instanceof ItemsException items) {
        return CliException.failure(items.getMessage());
      }
      cause = cause.getCause();
    }
    if (e instanceof ConnectException
        || e instanceof HttpConnectTimeoutException
        || e.getCause() instanceof UnresolvedAddressException
        || e.getCause() instanceof ConnectException) {
      return new CliException(
          CliException.UNREACHABLE,
          "cannot reach the server at " + server + " (" + (e instanceof ConnectException ? "connection refused or no route" : describe(e)) + "); check --server or NIGHTSHIFT_SERVER");
    }
    return new CliException(
        CliException.UNREACHABLE, "lost the connection to " + server + ": " + describe(e));
  }

  private static String describe(Throwable e) {
    String m = e.getMessage();
    if ((m == null || m.isBlank()) && e.getCause() != null) {
      return describe(e.getCause());
    }
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  /** A refusal: the problem's detail when it is problem+json (or JSON with a detail), else the status. */
  static CliException refused(int status, String body, String contentType) {
    String detail = null;
    if (body != null && !body.isBlank() && contentType.contains("json")) {
      try {
        JsonNode problem = JSON.readTree(body);
        if (problem.hasNonNull("detail")) {
          detail = problem.get("detail").asString();
        } else if (problem.hasNonNull("title")) {
          detail = problem.get("title").asString();
        }
      } catch (JacksonException e) {
        // not JSON after all
      }
    }
    if (detail == null) {
      detail = "the server answered " + status;
    }
    int code = status == 401 || status == 403 ? CliException.AUTH : CliException.FAILURE;
    if (status == 401) {
      detail += " (check --token / NIGHTSHIFT_TOKEN, or --user with NIGHTSHIFT_PASSWORD)";
    }
    return new CliException(code, detail);
  }

  /** A query string from pairs; values are percent-encoded. */
  static String query(List<Map.Entry<String, String>> params) {
    StringBuilder q = new StringBuilder();
    for (Map.Entry<String, String> p : params) {
      q.append(q.length() == 0 ? '?' : '&')
          .append(URLEncoder.encode(p.getKey(), StandardCharsets.UTF_8))
          .append('=')
          .append(URLEncoder.encode(p.getValue(), StandardCharsets.UTF_8));
    }
    return q.toString();
  }

  /** A path segment (worker ids, job ids) percent-encoded. */
  static String segment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
