package dev.nightshift.server.hostile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Builds hostile request number {@code i} from the seed alone (each index has its own {@link Random}), so any
 * failure reproduces with the seed and the index, whatever order the requests ran in. Every request goes over a raw
 * socket, byte for byte.
 *
 * <p>The bad inputs tried, by category:
 *
 * <ul>
 *   <li>{@code valid}: the endpoint's normal request (a baseline among the hostile ones).
 *   <li>{@code body}: mutations of a valid JSON body: a field of the wrong type (string, number, boolean, array,
 *       object), null, missing, a huge string (70 KB - 1 MB), huge or fractional or out-of-range numbers (1e400,
 *       2^63, -1, 0, MAX_INT+1), deep nesting (2,000 levels), invalid UTF-8 bytes (0xFF, overlong C0 80, encoded
 *       surrogate ED A0 80, truncated and 5-byte sequences, code points past U+10FFFF), NUL and lone-surrogate
 *       escapes, control characters, unknown fields (top level and nested), duplicate keys, a truncated body, a
 *       body that is not an object (null, array, number, string, empty, whitespace, garbage bytes), JSON
 *       extensions (comments, single quotes, trailing commas, NaN, leading zeros, a BOM), thousands of keys, arrays
 *       of nulls or of 2,000 elements, bad enum values, absurd timestamps (year 999999999, -999999999, invalid).
 *   <li>{@code query}: bad query parameters: invalid percent-encoding, %FF, overlong %C0%80, encoded surrogates, NUL,
 *       '+1', '0x10', overflowing numbers, empty and repeated values, unknown names, very long values.
 *   <li>{@code id}: bad ids in paths: '+1', '0x10', '-1', '0', 'abc', '1.5', 20 digits, %20, %FF, %C0%80, %00, %2F,
 *       ';', '..', a 5,000-character id.
 *   <li>{@code method}: every method on every path (PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE, CONNECT, PROPFIND, a
 *       lower-case 'get', an unknown token, an invalid one).
 *   <li>{@code content-type}: none, text/plain, multipart with and without boundary, form-urlencoded, XML, NDJSON and
 *       CSV where JSON is expected, a bad charset, unparsable media types, Content-Encoding gzip on plain bytes.
 *   <li>{@code auth}: none, 'Basic' alone, bad base64, no colon, a wrong or 100-byte password, an unknown user,
 *       'Bearer' alone, unknown and malformed tokens, an agent token on the API, admin credentials on the agent
 *       protocol, another agent's token, Digest, two Authorization headers, non-ASCII bytes.
 *   <li>{@code headers}: unparsable or unsatisfiable Accept, Accept-Charset, bad Range and conditional headers,
 *       Expect values, X-HTTP-Method-Override, a garbage agent instance id, huge and many headers, control and
 *       non-ASCII bytes in header values, obsolete line folding, a bad Host, two Hosts, cookies that are not cookies.
 *   <li>{@code protocol}: malformed request lines (bad method characters, no path, absolute and asterisk targets,
 *       raw non-ASCII and control bytes in the target, HTTP/0.9, HTTP/9.9, missing version), bare LF line ends,
 *       Content-Length that lies (longer, with the body cut short, negative, not a number, twice), bad chunked
 *       encoding (bad sizes, missing terminator, a trailer), Transfer-Encoding gzip and with Content-Length.
 *   <li>{@code path}: '//', ';' parameters, encoded '.', '/', '\' and '%', '/./', '/../', a trailing slash, upper
 *       case, unknown paths, a 7,000-character path, non-ASCII.
 * </ul>
 *
 * <p>The endpoints: the admin API (jobs as JSON and NDJSON, steering, batches, results, code and promotions,
 * workers, enrollment tokens, users, API tokens, audit), the agent protocol (register, heartbeat, claim with
 * reports, complete, fail, release), Git smart HTTP (refs advertisement, upload-pack, receive-pack, dumb paths,
 * unknown repositories), the dashboard (pages, live fragments, actions with and without CSRF token, login, logout,
 * assets), the actuator and the root.
 */
final class HostileRequests {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String PLACEHOLDER = "\"@@HOSTILE@@\"";

  /** What the test set up for the requests to aim at. */
  record Fixture(
      String adminPassword,
      String enrollmentToken,
      String agentToken,
      String drainedAgentToken,
      String victimAgentToken,
      String victimWorkerId,
      List<Long> batchIds,
      List<String> leaseTokens,
      String commit,
      String version,
      long leaseJobId,
      long victimJobId,
      String victimUser,
      String sessionCookie,
      String csrfToken) {}

  /** One hostile request: what it is, its bytes, and what its answer may be besides problem+json. */
  record Hostile(
      int index,
      String category,
      String endpoint,
      String description,
      byte[] bytes,
      boolean halfClose,
      boolean htmlAllowed,
      boolean gitFormatAllowed,
      boolean mayGoUnanswered,
      boolean http09) {}

  private enum Auth {
    ADMIN,
    AGENT,
    DRAINED_AGENT,
    NONE,
    SESSION,
    GIT_ADMIN,
    GIT_AGENT
  }

  /** An endpoint and how to make a valid request to it. */
  private record Endpoint(
      String name,
      String method,
      String path,
      Auth auth,
      String contentType,
      java.util.function.Function<Random, String> body,
      Map<String, List<String>> query,
      List<String> ids) {
    boolean json() {
      return "application/json".equals(contentType) && body != null;
    }
  }

  private final long seed;
  private final Fixture f;
  private final List<Endpoint> endpoints = new ArrayList<>();

  HostileRequests(long seed, Fixture fixture) {
    this.seed = seed;
    this.f = fixture;
    define();
  }

  int endpointCount() {
    return endpoints.size();
  }

  // ------------------------------------------------------------------------------------------- endpoints

  private void define() {
    List<String> jobIds = List.of(String.valueOf(f.victimJobId()));
    List<String> batchIds = List.of(String.valueOf(f.batchIds().get(0)));
    List<String> workerIds = List.of(f.victimWorkerId());
    Map<String, List<String>> none = Map.of();
    // admin API
    add("submit job", "POST", "/api/v1/jobs", Auth.ADMIN, "application/json", r -> r.nextBoolean() ? job() : itemsJob(), none, null);
    add("submit NDJSON", "POST", "/api/v1/jobs", Auth.ADMIN, "application/x-ndjson", r -> "1\n{\"a\":2}\n\"x\"\n\n[3]\n",
        query("name", "hostile-upload", "command", "true", "batchSize", "2", "label", "pool=hostile", "env", "A=b",
            "priority", "1", "maxAttempts", "2", "timeoutSeconds", "60", "maxParallel", "1"), null);
    add("list jobs", "GET", "/api/v1/jobs", Auth.ADMIN, null, null,
        query("state", "RUNNING", "limit", "10", "before", "1000000"), null);
    add("get job", "GET", "/api/v1/jobs/{id}", Auth.ADMIN, null, null, none, jobIds);
    for (String action : List.of("cancel", "pause", "resume", "retry")) {
      add(action + " job", "POST", "/api/v1/jobs/{id}/" + action, Auth.ADMIN, null, null, none, jobIds);
    }
    add("job batches", "GET", "/api/v1/jobs/{id}/batches", Auth.ADMIN, null, null,
        query("state", "PENDING", "after", "0", "limit", "10"), List.of(String.valueOf(f.leaseJobId())));
    add("job results", "GET", "/api/v1/jobs/{id}/results", Auth.ADMIN, null, null, none,
        List.of(String.valueOf(f.leaseJobId())));
    add("job failures", "GET", "/api/v1/jobs/{id}/failures", Auth.ADMIN, null, null, query("limit", "10"), jobIds);
    add("job wait reasons", "GET", "/api/v1/jobs/{id}/wait-reasons", Auth.ADMIN, null, null, none, jobIds);
    add("get batch", "GET", "/api/v1/batches/{id}", Auth.ADMIN, null, null, none, batchIds);
    add("code", "GET", "/api/v1/code", Auth.ADMIN, null, null, query("limit", "5"), null);
    add("promote", "POST", "/api/v1/code/promotions", Auth.ADMIN, "application/json",
        r -> r.nextBoolean() ? "{\"ref\":\"main\"}" : "{\"commit\":\"" + f.commit() + "\",\"rollback\":true}", none, null);
    add("list workers", "GET", "/api/v1/workers", Auth.ADMIN, null, null, none, null);
    add("get worker", "GET", "/api/v1/workers/{id}", Auth.ADMIN, null, null, none, workerIds);
    for (String action : List.of("drain", "resume", "approve", "revoke")) {
      add(action + " worker", "POST", "/api/v1/workers/{id}/" + action, Auth.ADMIN, null, null, none, workerIds);
    }
    add("delete worker", "DELETE", "/api/v1/workers/{id}", Auth.ADMIN, null, null, none, workerIds);
    add("create enrollment token", "POST", "/api/v1/enrollment-tokens", Auth.ADMIN, "application/json",
        r -> "{\"description\":\"hostile\",\"expiresInHours\":1,\"maxUses\":1}", none, null);
    add("list enrollment tokens", "GET", "/api/v1/enrollment-tokens", Auth.ADMIN, null, null, none, null);
    add("revoke enrollment token", "DELETE", "/api/v1/enrollment-tokens/{id}", Auth.ADMIN, null, null, none, List.of("1"));
    add("agent rollout", "GET", "/api/v1/agent-rollout", Auth.ADMIN, null, null, none, null);
    add("set agent rollout", "PUT", "/api/v1/agent-rollout", Auth.ADMIN, "application/json",
        r -> r.nextBoolean() ? "{\"mode\":\"CANARY\",\"share\":" + r.nextInt(101) + "}" : "{\"mode\":\"HOLD\"}", none,
        null);
    add("list users", "GET", "/api/v1/users", Auth.ADMIN, null, null, none, null);
    // Mostly an existing name (409 before any bcrypt: each new password costs the server a bcrypt).
    add("create user", "POST", "/api/v1/users", Auth.ADMIN, "application/json",
        r -> "{\"username\":\"" + (r.nextInt(25) == 0 ? "hv" + r.nextInt(3) : f.victimUser())
            + "\",\"password\":\"hostile-password-1\",\"role\":\"OPERATOR\"}",
        none, null);
    add("get user", "GET", "/api/v1/users/{id}", Auth.ADMIN, null, null, none, List.of(f.victimUser(), "admin"));
    // never admin: a valid change of admin's password or role would lock the test out
    add("change user", "PATCH", "/api/v1/users/{id}", Auth.ADMIN, "application/json",
        r -> "{\"password\":" + (r.nextInt(25) == 0 ? "\"hostile-password-2\"" : "null")
            + ",\"role\":\"OPERATOR\",\"enabled\":true}", none,
        List.of(f.victimUser()));
    add("delete user", "DELETE", "/api/v1/users/{id}", Auth.ADMIN, null, null, none, List.of("hv1", "hv2"));
    add("create API token", "POST", "/api/v1/api-tokens", Auth.ADMIN, "application/json",
        r -> "{\"name\":\"hostile\",\"username\":\"" + f.victimUser() + "\",\"role\":\"OPERATOR\",\"expiresInDays\":1}",
        none, null);
    add("list API tokens", "GET", "/api/v1/api-tokens", Auth.ADMIN, null, null, none, null);
    add("revoke API token", "DELETE", "/api/v1/api-tokens/{id}", Auth.ADMIN, null, null, none, List.of("1"));
    add("audit", "GET", "/api/v1/audit", Auth.ADMIN, null, null,
        query("actor", "admin", "action", "POST", "target", "jobs", "since", "2026-01-01T00:00:00Z", "before",
            "1000000", "limit", "10"), null);
    // agent protocol
    add("register", "POST", "/agent/v1/register", Auth.NONE, "application/json", r -> register(), none, null);
    add("heartbeat", "POST", "/agent/v1/heartbeat", Auth.DRAINED_AGENT, "application/json", r -> heartbeat(r), none, null);
    add("claim", "POST", "/agent/v1/claim", Auth.DRAINED_AGENT, "application/json", r -> claim(r), none, null);
    add("complete", "POST", "/agent/v1/complete", Auth.AGENT, "application/json", r -> complete(r), none, null);
    add("fail", "POST", "/agent/v1/fail", Auth.AGENT, "application/json", r -> fail(r), none, null);
    add("release", "POST", "/agent/v1/release", Auth.DRAINED_AGENT, "application/json", r -> release(r), none, null);
    // Git smart HTTP
    add("git refs", "GET", "/git/code.git/info/refs", Auth.GIT_AGENT, null, null,
        query("service", "git-upload-pack"), null);
    add("git refs push", "GET", "/git/code.git/info/refs", Auth.GIT_ADMIN, null, null,
        query("service", "git-receive-pack"), null);
    add("git upload-pack", "POST", "/git/code.git/git-upload-pack", Auth.GIT_AGENT,
        "application/x-git-upload-pack-request", r -> uploadPack(), none, null);
    add("git receive-pack", "POST", "/git/code.git/git-receive-pack", Auth.GIT_ADMIN,
        "application/x-git-receive-pack-request", r -> "0000", none, null);
    add("git HEAD", "GET", "/git/code.git/HEAD", Auth.GIT_AGENT, null, null, none, null);
    add("git packs", "GET", "/git/code.git/objects/info/packs", Auth.GIT_AGENT, null, null, none, null);
    add("git other repository", "GET", "/git/{id}/info/refs", Auth.GIT_AGENT, null, null,
        query("service", "git-upload-pack"), List.of("other.git"));
    // dashboard
    add("dashboard", "GET", "/ui", Auth.SESSION, null, null, query("fragment", "live"), null);
    add("dashboard jobs", "GET", "/ui/jobs", Auth.SESSION, null, null,
        query("state", "RUNNING", "name", "h", "before", "100000", "fragment", "live"), null);
    add("dashboard job", "GET", "/ui/jobs/{id}", Auth.SESSION, null, null,
        query("batches", "PENDING", "after", "0", "fragment", "live"), List.of(String.valueOf(f.leaseJobId())));
    add("dashboard workers", "GET", "/ui/workers", Auth.SESSION, null, null, query("fragment", "live"), null);
    add("dashboard audit", "GET", "/ui/audit", Auth.SESSION, null, null,
        query("actor", "admin", "action", "POST", "target", "x", "before", "1000"), null);
    add("dashboard code", "GET", "/ui/code", Auth.SESSION, null, null, none, null);
    add("dashboard job action", "POST", "/ui/jobs/{id}/pause", Auth.SESSION, "application/x-www-form-urlencoded",
        r -> "_csrf=" + f.csrfToken(), none, jobIds);
    add("dashboard worker action", "POST", "/ui/workers/{id}/drain", Auth.SESSION,
        "application/x-www-form-urlencoded", r -> "_csrf=" + f.csrfToken(), none, workerIds);
    add("dashboard promote", "POST", "/ui/code/promote", Auth.SESSION, "application/x-www-form-urlencoded",
        r -> "commit=" + f.commit() + "&rollback=true&_csrf=" + f.csrfToken(), none, null);
    add("login page", "GET", "/login", Auth.NONE, null, null, query("error", ""), null);
    add("login", "POST", "/login", Auth.NONE, "application/x-www-form-urlencoded",
        r -> "username=nobody&password=wrong-password", none, null);
    add("logout", "POST", "/logout", Auth.NONE, "application/x-www-form-urlencoded", r -> "", none, null);
    add("asset", "GET", "/assets/dashboard.css", Auth.NONE, null, null, none, null);
    // actuator, root
    add("actuator", "GET", "/actuator", Auth.ADMIN, null, null, none, null);
    add("health", "GET", "/actuator/health", Auth.NONE, null, null, none, null);
    add("health group", "GET", "/actuator/health/{id}", Auth.NONE, null, null, none, List.of("liveness", "readiness"));
    add("info", "GET", "/actuator/info", Auth.NONE, null, null, none, null);
    add("root", "GET", "/", Auth.NONE, null, null, none, null);
    add("error page", "GET", "/error", Auth.ADMIN, null, null, none, null);
  }

  private void add(
      String name,
      String method,
      String path,
      Auth auth,
      String contentType,
      java.util.function.Function<Random, String> body,
      Map<String, List<String>> query,
      List<String> ids) {
    endpoints.add(new Endpoint(name, method, path, auth, contentType, body, query, ids == null ? List.of() : ids));
  }

  private static Map<String, List<String>> query(String... pairs) {
    Map<String, List<String>> q = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      q.computeIfAbsent(pairs[i], k -> new ArrayList<>()).add(pairs[i + 1]);
    }
    return q;
  }

  private static String job() {
    return "{\"name\":\"hostile\",\"command\":\"true\",\"batchSize\":1,\"range\":{\"start\":0,\"end\":2},"
        + "\"priority\":1,\"maxAttempts\":2,\"timeoutSeconds\":60,\"maxParallel\":1,\"env\":{\"MODE\":\"x\"},"
        + "\"labels\":{\"pool\":\"hostile\"}}";
  }

  private static String itemsJob() {
    return "{\"name\":\"hostile-items\",\"command\":\"cat\",\"batchSize\":2,\"items\":[1,\"a\",{\"k\":null},[2]],"
        + "\"labels\":{\"pool\":\"hostile\"}}";
  }

  private String register() {
    return "{\"enrollmentToken\":\"" + f.enrollmentToken() + "\",\"name\":\"hostile-pc\",\"host\":{\"hostname\":\"h\","
        + "\"os\":\"Linux\",\"arch\":\"amd64\",\"cpus\":2,\"memoryBytes\":1024,\"agentVersion\":\"t\","
        + "\"javaVersion\":\"17\"},\"slots\":1,\"labels\":{\"pool\":\"none\"}}";
  }

  private String leaseRef(Random r) {
    int i = r.nextInt(f.batchIds().size());
    return "{\"batchId\":" + f.batchIds().get(i) + ",\"leaseToken\":\"" + f.leaseTokens().get(i) + "\"}";
  }

  private String heartbeat(Random r) {
    return "{\"state\":\"IDLE\",\"reason\":\"ok\",\"slots\":1,\"freeSlots\":1,\"leases\":[" + leaseRef(r)
        + "],\"commit\":\"" + f.commit() + "\"}";
  }

  private String report(Random r, boolean complete) {
    int i = r.nextInt(f.batchIds().size());
    String common =
        "\"batchId\":" + f.batchIds().get(i) + ",\"leaseToken\":\"" + f.leaseTokens().get(i) + "\",\"commit\":\""
            + f.commit() + "\",\"version\":\"" + f.version() + "\",\"startedAt\":\"2026-01-01T00:00:00Z\","
            + "\"finishedAt\":\"2026-01-01T00:00:01Z\",\"logTail\":\"log\"";
    return complete
        ? "{" + common + ",\"exitCode\":0,\"output\":\"ok\\n\"}"
        : "{" + common + ",\"outcome\":\"FAILED\",\"exitCode\":1,\"error\":\"boom\"}";
  }

  private String complete(Random r) {
    return report(r, true);
  }

  private String fail(Random r) {
    return report(r, false);
  }

  private String claim(Random r) {
    return "{\"freeSlots\":1,\"waitMillis\":0,\"completed\":[" + report(r, true) + "],\"failed\":[" + report(r, false)
        + "]}";
  }

  private String release(Random r) {
    return "{\"leases\":[" + leaseRef(r) + "],\"reason\":\"hostile\"}";
  }

  private String uploadPack() {
    String want = "want " + f.commit() + "\n";
    return String.format("%04x", want.length() + 4) + want + "0000" + "0009done\n";
  }

  // ------------------------------------------------------------------------------------------- building

  /** A request being built: everything may be replaced by a mutation. */
  private static final class Draft {
    String category;
    String description;
    String method;
    String path;
    String query;
    final List<String[]> headers = new ArrayList<>();
    byte[] body;
    byte[] raw; // replaces everything when set
    boolean halfClose;
    boolean htmlAllowed;
    boolean gitFormatAllowed;
    boolean mayGoUnanswered;
    boolean http09;
    boolean contentLength = true;

    void header(String name, String value) {
      headers.add(new String[] {name, value});
    }

    void replaceHeader(String name, String value) {
      headers.removeIf(h -> h[0].equalsIgnoreCase(name));
      if (value != null) {
        header(name, value);
      }
    }

    byte[] bytes() {
      if (raw != null) {
        return raw;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      String target = path + (query == null || query.isEmpty() ? "" : "?" + query);
      write(out, method + " " + target + " HTTP/1.1\r\n");
      boolean hasHost = headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Host"));
      if (!hasHost) {
        write(out, "Host: 127.0.0.1\r\n");
      }
      for (String[] h : headers) {
        write(out, h[0] + ": " + h[1] + "\r\n");
      }
      write(out, "Connection: close\r\n");
      if (body != null && contentLength && headers.stream().noneMatch(h -> h[0].equalsIgnoreCase("Content-Length")
          || h[0].equalsIgnoreCase("Transfer-Encoding"))) {
        write(out, "Content-Length: " + body.length + "\r\n");
      }
      write(out, "\r\n");
      if (body != null) {
        out.write(body, 0, body.length);
      }
      return out.toByteArray();
    }

    /** Header text is sent as ISO-8859-1: chars up to U+00FF become those bytes (so control bytes can be sent). */
    private static void write(ByteArrayOutputStream out, String s) {
      byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
      out.write(b, 0, b.length);
    }
  }

  Hostile build(int index) {
    Random r = new Random(seed * 1_000_003L + index * 7_919L);
    Endpoint e = endpoints.get(r.nextInt(endpoints.size()));
    if (e.path().startsWith("/ui") && e.method().equals("GET") && r.nextInt(3) != 0) {
      e = endpoints.get(r.nextInt(endpoints.size())); // full pages are the costliest answers: a third as many
    }
    Draft d = valid(e, r);
    int roll = r.nextInt(100);
    if (roll < 4) {
      d.category = "valid";
      d.description = "as is";
    } else if (roll < 36) {
      body(d, e, r);
    } else if (roll < 48) {
      query(d, e, r);
    } else if (roll < 56) {
      id(d, e, r);
    } else if (roll < 62) {
      method(d, e, r);
    } else if (roll < 69) {
      contentType(d, e, r);
    } else if (roll < 77) {
      auth(d, e, r);
    } else if (roll < 86) {
      headers(d, e, r);
    } else if (roll < 94) {
      protocol(d, e, r);
    } else {
      path(d, e, r);
    }
    if (d.raw == null && !d.path.startsWith("/git/")) {
      // Git's Basic credentials (any user name, an agent token) moved onto another path are an unknown user there,
      // and each unknown user costs the server a dummy bcrypt: use the admin's (cached) credentials instead.
      String gitAgent = basic("agent", f.agentToken());
      if (d.headers.removeIf(h -> h[0].equals("Authorization") && h[1].equals(gitAgent))) {
        d.header("Authorization", basic("admin", f.adminPassword()));
      }
    }
    boolean dashboard = e.path().startsWith("/ui") || e.path().startsWith("/login") || e.path().startsWith("/logout");
    boolean acceptsHtml = d.headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Accept") && h[1].contains("text/html"));
    d.htmlAllowed |= dashboard && acceptsHtml;
    d.gitFormatAllowed |= e.path().startsWith("/git/");
    return new Hostile(
        index, d.category, e.name(), d.description, d.bytes(), d.halfClose, d.htmlAllowed, d.gitFormatAllowed,
        d.mayGoUnanswered, d.http09);
  }

  private Draft valid(Endpoint e, Random r) {
    Draft d = new Draft();
    d.method = e.method();
    String id = e.ids().isEmpty() ? "" : e.ids().get(r.nextInt(e.ids().size()));
    d.path = e.path().replace("{id}", id);
    d.query = encodeQuery(e.query());
    switch (e.auth()) {
      case ADMIN -> d.header("Authorization", basic("admin", f.adminPassword()));
      case AGENT -> d.header("Authorization", "Bearer " + f.agentToken());
      case DRAINED_AGENT -> d.header("Authorization", "Bearer " + f.drainedAgentToken());
      case GIT_ADMIN -> d.header("Authorization", basic("admin", f.adminPassword()));
      case GIT_AGENT -> d.header("Authorization", basic("agent", f.agentToken()));
      case SESSION -> d.header("Cookie", "JSESSIONID=" + f.sessionCookie());
      case NONE -> {}
    }
    if (e.contentType() != null) {
      d.header("Content-Type", e.contentType());
    }
    if (e.body() != null) {
      d.body = e.body().apply(r).getBytes(StandardCharsets.UTF_8);
    } else if (!"GET".equals(e.method()) && !"DELETE".equals(e.method())) {
      d.body = new byte[0];
    }
    if (e.path().startsWith("/git/") && e.contentType() == null) {
      d.header("Git-Protocol", "version=0");
    }
    return d;
  }

  private static String encodeQuery(Map<String, List<String>> q) {
    StringBuilder out = new StringBuilder();
    q.forEach(
        (k, values) -> {
          for (String v : values) {
            if (!out.isEmpty()) {
              out.append('&');
            }
            out.append(java.net.URLEncoder.encode(k, StandardCharsets.UTF_8))
                .append('=')
                .append(java.net.URLEncoder.encode(v, StandardCharsets.UTF_8));
          }
        });
    return out.toString();
  }

  private static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static <T> T pick(Random r, List<T> items) {
    return items.get(r.nextInt(items.size()));
  }

  // ------------------------------------------------------------------------------------------- body

  private static final List<String> WRONG_VALUES =
      List.of(
          "\"text\"", "\"\"", "\" \"", "123", "-1", "0", "1.5", "-0.0", "true", "false", "null", "[]", "{}", "[1,2]",
          "{\"a\":1}", "1e400", "-1e400", "9223372036854775808", "-9223372036854775809", "2147483648",
          "99999999999999999999999999999999", "1E-400", "\"9999-99-99\"", "\"+999999999-12-31T23:59:59Z\"",
          "\"-999999999-01-01T00:00:00Z\"", "\"2026-13-45T25:61:61Z\"", "\"NOPE\"", "\"idle\"", "\"IDLE \"",
          "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\\u0000b\"", "\"\\u0001\\u001f\\u007f\\u0085\"",
          "\"\\u202e\\u200b\"", "\"../../etc/passwd\"", "\"<script>alert(1)</script>\"", "\"' OR 1=1 --\"",
          "\"%s%n%x\"", "\"${jndi:ldap://x}\"", "[null]", "[null,null]", "[{}]", "[[]]", "[\"x\"]");

  private static final List<byte[]> BAD_UTF8 =
      List.of(
          bytes(0xFF), bytes(0xFE, 0xFF), bytes(0xC0, 0x80), bytes(0xC0, 0xAF), bytes(0xE0, 0x80, 0xAF),
          bytes(0xED, 0xA0, 0x80), bytes(0xED, 0xBF, 0xBF), bytes(0xE2, 0x82), bytes(0xF8, 0x88, 0x80, 0x80, 0x80),
          bytes(0xF4, 0x90, 0x80, 0x80), bytes(0x80), bytes(0xC3), bytes(0xF0, 0x9F, 0x98));

  private static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }

  private void body(Draft d, Endpoint e, Random r) {
    d.category = "body";
    if (!e.json()) {
      d.body = whole(r, d);
      return;
    }
    ObjectNode tree = (ObjectNode) JSON.readTree(new String(d.body, StandardCharsets.UTF_8));
    List<String[]> paths = fieldPaths(tree, "");
    String[] target = paths.isEmpty() ? new String[] {"x"} : pick(r, paths);
    String where = String.join(".", target);
    int kind = r.nextInt(17);
    switch (kind) {
      case 0 -> {
        String v = pick(r, WRONG_VALUES);
        d.body = replaceValue(tree, target, v.getBytes(StandardCharsets.UTF_8));
        d.description = where + " = " + v;
      }
      case 1 -> {
        remove(tree, target);
        d.body = JSON.writeValueAsBytes(tree);
        d.description = "without " + where;
      }
      case 2 -> {
        int size = pick(r, List.of(70_000, 300_000, 1_100_000));
        d.body = replaceValue(tree, target, ("\"" + "x".repeat(size) + "\"").getBytes(StandardCharsets.UTF_8));
        d.description = where + " = " + size + " characters";
        d.mayGoUnanswered = size > 1_000_000 && e.path().startsWith("/agent/v1/register");
      }
      case 3 -> {
        int depth = pick(r, List.of(600, 2_000));
        String open = r.nextBoolean() ? "[" : "{\"a\":";
        String close = open.equals("[") ? "]" : "}";
        d.body = replaceValue(tree, target, (open.repeat(depth) + "1" + close.repeat(depth)).getBytes(StandardCharsets.UTF_8));
        d.description = where + " nested " + depth + " deep";
      }
      case 4 -> {
        byte[] bad = pick(r, BAD_UTF8);
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        v.write('"');
        v.write('a');
        v.write(bad, 0, bad.length);
        v.write('b');
        v.write('"');
        d.body = replaceValue(tree, target, v.toByteArray());
        d.description = where + " with invalid UTF-8 " + hex(bad);
      }
      case 5 -> {
        tree.put("zzUnknown" + r.nextInt(10), 1);
        d.body = JSON.writeValueAsBytes(tree);
        d.description = "unknown field";
      }
      case 6 -> {
        ObjectNode nested = firstObject(tree);
        if (nested != null) {
          nested.put("zzNested", true);
          d.description = "unknown nested field";
        } else {
          tree.putObject("zzObject").put("a", 1);
          d.description = "unknown object field";
        }
        d.body = JSON.writeValueAsBytes(tree);
      }
      case 7 -> {
        String text = JSON.writeValueAsString(tree);
        String key = tree.propertyNames().iterator().next();
        d.body = text.replaceFirst("\\{", "{\"" + key + "\":" + pick(r, WRONG_VALUES) + ",").getBytes(StandardCharsets.UTF_8);
        d.description = "duplicate key " + key;
      }
      case 8 -> {
        byte[] full = JSON.writeValueAsBytes(tree);
        int cut = 1 + r.nextInt(Math.max(1, full.length - 1));
        d.body = java.util.Arrays.copyOf(full, cut);
        d.description = "truncated at " + cut + " of " + full.length + " bytes";
      }
      case 9 -> {
        // Content-Length promises the whole body; the sender stops early and closes its side.
        byte[] full = JSON.writeValueAsBytes(tree);
        int cut = r.nextInt(full.length);
        d.body = java.util.Arrays.copyOf(full, cut);
        d.contentLength = false;
        d.header("Content-Length", String.valueOf(full.length));
        d.halfClose = true;
        d.description = "body cut at " + cut + " of a declared " + full.length + " bytes, then EOF";
      }
      case 10 -> {
        int n = pick(r, List.of(2_000, 20_000));
        for (int i = 0; i < n; i++) {
          tree.put("k" + i, i);
        }
        d.body = JSON.writeValueAsBytes(tree);
        d.description = n + " extra keys";
      }
      case 11 -> {
        StringBuilder array = new StringBuilder("[");
        int n = pick(r, List.of(2_000, 200));
        String element = pick(r, List.of("null", "1", "{}", "\"x\"", "[]"));
        for (int i = 0; i < n; i++) {
          array.append(i == 0 ? "" : ",").append(element);
        }
        d.body = replaceValue(tree, target, array.append("]").toString().getBytes(StandardCharsets.UTF_8));
        d.description = where + " = array of " + n + " x " + element;
      }
      case 12 -> {
        String v = pick(r, List.of("0", "-1", "-2147483648", "2147483647", "2147483648", "9223372036854775807",
            "-9223372036854775808", "1.0", "1e3", "0x10", "+1", "01", "NaN", "Infinity", "-Infinity"));
        d.body = replaceValue(tree, target, v.getBytes(StandardCharsets.UTF_8));
        d.description = where + " = " + v + " (number edge)";
      }
      case 13 -> {
        String text = JSON.writeValueAsString(tree);
        String v =
            switch (r.nextInt(6)) {
              case 0 -> "/* c */" + text;
              case 1 -> text.replace('"', '\'');
              case 2 -> text.substring(0, text.length() - 1) + ",}";
              case 3 -> "\uFEFF" + text;
              case 4 -> text + " trailing";
              default -> text + text;
            };
        d.body = v.getBytes(StandardCharsets.UTF_8);
        d.description = "non-standard JSON";
      }
      case 14 -> {
        d.body = whole(r, d);
      }
      case 15 -> {
        String v = pick(r, List.of("\"\\u0000\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"a\\u0007\\u001b[31m\"",
            "\"line\\nbreak\\r\\n\"", "\"\\t\"", "\"" + "é".repeat(100) + "\"", "\"" + "\uD83D\uDE00".repeat(50) + "\""));
        d.body = replaceValue(tree, target, v.getBytes(StandardCharsets.UTF_8));
        d.description = where + " = special text " + v.length();
      }
      default -> {
        d.body = replaceValue(tree, target, "null".getBytes(StandardCharsets.UTF_8));
        d.description = where + " = null";
      }
    }
    if (d.description == null) {
      d.description = "body";
    }
  }

  /** A whole body that is not the expected object. */
  private byte[] whole(Random r, Draft d) {
    byte[][] options = {
      new byte[0], "null".getBytes(), "[]".getBytes(), "123".getBytes(), "\"str\"".getBytes(), "true".getBytes(),
      "{".getBytes(), "}".getBytes(), "{}".getBytes(), "   \r\n\t ".getBytes(), "{\"a\":".getBytes(),
      "[{\"batchId\":1}]".getBytes(), bytes(0xFF, 0xFE, 0x00, 0x7B), randomBytes(r, 200), "\u0000".getBytes(),
      "a=b&c=d".getBytes(), "<xml/>".getBytes(), "{\"a\":1}\n{\"b\":2}".getBytes()
    };
    int i = r.nextInt(options.length);
    d.description = "whole body #" + i;
    return options[i];
  }

  private static byte[] randomBytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static String hex(byte[] b) {
    StringBuilder out = new StringBuilder();
    for (byte x : b) {
      out.append(String.format("%02X ", x & 0xFF));
    }
    return out.toString().trim();
  }

  private static List<String[]> fieldPaths(JsonNode node, String prefix) {
    List<String[]> out = new ArrayList<>();
    if (node.isObject()) {
      for (String name : node.propertyNames()) {
        out.add(new String[] {name});
        JsonNode child = node.get(name);
        if (child.isObject()) {
          for (String[] sub : fieldPaths(child, name)) {
            String[] p = new String[sub.length + 1];
            p[0] = name;
            System.arraycopy(sub, 0, p, 1, sub.length);
            out.add(p);
          }
        }
      }
    }
    return out;
  }

  private static ObjectNode parentOf(ObjectNode tree, String[] path) {
    ObjectNode at = tree;
    for (int i = 0; i < path.length - 1; i++) {
      JsonNode next = at.get(path[i]);
      if (!(next instanceof ObjectNode o)) {
        return tree;
      }
      at = o;
    }
    return at;
  }

  private static byte[] replaceValue(ObjectNode tree, String[] path, byte[] raw) {
    ObjectNode copy = tree.deepCopy();
    parentOf(copy, path).put(path[path.length - 1], PLACEHOLDER.substring(1, PLACEHOLDER.length() - 1));
    byte[] text = JSON.writeValueAsBytes(copy);
    byte[] marker = PLACEHOLDER.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i <= text.length - marker.length; i++) {
      if (java.util.Arrays.equals(text, i, i + marker.length, marker, 0, marker.length)) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(text, 0, i);
        out.write(raw, 0, raw.length);
        out.write(text, i + marker.length, text.length - i - marker.length);
        return out.toByteArray();
      }
    }
    return text;
  }

  private static void remove(ObjectNode tree, String[] path) {
    parentOf(tree, path).remove(path[path.length - 1]);
  }

  private static ObjectNode firstObject(ObjectNode tree) {
    for (String name : tree.propertyNames()) {
      if (tree.get(name) instanceof ObjectNode o) {
        return o;
      }
    }
    return null;
  }

  // ------------------------------------------------------------------------------------------- query

  private static final List<String> BAD_QUERY_VALUES =
      List.of(
          "", "%20", "%FF", "%ED%A0%80", "%C0%80", "%C0%AF", "%00", "%", "%Z1", "%2", "%E2%82", "+1", "0x10", "-1",
          "0", "1.5", "1e3", "99999999999999999999", "-99999999999999999999", "NaN", "%E2%9C%93", "running",
          "RUNNING%00", "a%0Ab", "%3Cscript%3E", "x".repeat(5_000), "%F0%9F%98%80", "null", "true", "%2B1");

  private void query(Draft d, Endpoint e, Random r) {
    d.category = "query";
    List<String> names = new ArrayList<>(e.query().keySet());
    names.addAll(List.of("zzUnknown", "state", "limit", "before", "after", "id", "%FF", "a%00b", ""));
    String name = pick(r, names);
    String value = pick(r, BAD_QUERY_VALUES);
    Map<String, List<String>> q = new LinkedHashMap<>(e.query());
    q.remove(name);
    String base = encodeQuery(q);
    String extra;
    switch (r.nextInt(4)) {
      case 0 -> extra = name + "=" + value;
      case 1 -> extra = name + "=" + value + "&" + name + "=" + pick(r, BAD_QUERY_VALUES);
      case 2 -> extra = name;
      default -> extra = name + "=" + value + "&" + "&=&&==";
    }
    d.query = base.isEmpty() ? extra : base + "&" + extra;
    d.description = "?" + cut(extra, 120);
  }

  // ------------------------------------------------------------------------------------------- ids

  private static final List<String> BAD_IDS =
      List.of(
          "+1", "0x10", "-1", "0", "abc", "1.5", "99999999999999999999", "%20", "%FF", "%C0%80", "%00", "%2F", "1;x",
          "..", "%2e%2e", "1%3B", "9".repeat(5_000), "%E2%9C%93", " 1", "1e3", "null", "%0A", "admin%00", "NaN");

  private void id(Draft d, Endpoint e, Random r) {
    d.category = "id";
    String bad = pick(r, BAD_IDS);
    String template = e.path().contains("{id}") ? e.path() : pick(r, List.of("/api/v1/jobs/{id}",
        "/api/v1/batches/{id}", "/api/v1/workers/{id}/drain", "/api/v1/jobs/{id}/results", "/ui/jobs/{id}",
        "/api/v1/users/{id}", "/api/v1/enrollment-tokens/{id}", "/api/v1/jobs/{id}/batches"));
    d.path = template.replace("{id}", bad);
    d.description = template + " with id " + cut(bad, 40);
  }

  // ------------------------------------------------------------------------------------------- methods

  private void method(Draft d, Endpoint e, Random r) {
    d.category = "method";
    d.method = pick(r, List.of("PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get",
        "FOO", "GET", "POST", "M-SEARCH", "BREW"));
    if ("HEAD".equals(d.method)) {
      d.body = null;
    }
    d.description = d.method + " " + e.path();
  }

  // ------------------------------------------------------------------------------------------- content types

  private void contentType(Draft d, Endpoint e, Random r) {
    d.category = "content-type";
    String type = pick(r, List.of("", "text/plain", "multipart/form-data", "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded", "application/xml", "application/x-ndjson", "text/csv",
        "application/json; charset=ISO-8859-1", "application/json; charset=nope", ";;;===", "application/",
        "/json", "application/json; boundary", "*/*", "application/*", "text/html", "application/problem+json",
        "application/json" + "; x=y".repeat(500), "application/x-git-upload-pack-request"));
    if (type.isEmpty()) {
      d.replaceHeader("Content-Type", null);
    } else {
      d.replaceHeader("Content-Type", type);
    }
    if (d.body == null) {
      d.body = "{}".getBytes(StandardCharsets.UTF_8);
    }
    if (r.nextInt(4) == 0) {
      d.header("Content-Encoding", pick(r, List.of("gzip", "br", "identity", "x-nope")));
    }
    if (type.startsWith("multipart/form-data; boundary")) {
      d.body = "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--xyz--\r\n".getBytes(StandardCharsets.UTF_8);
    }
    d.description = "Content-Type '" + cut(type, 60) + "'";
  }

  // ------------------------------------------------------------------------------------------- auth

  private void auth(Draft d, Endpoint e, Random r) {
    d.category = "auth";
    d.replaceHeader("Authorization", null);
    int kind = r.nextInt(17);
    String value =
        switch (kind) {
          case 0 -> null;
          case 1 -> "Basic";
          case 2 -> "Basic !!!not-base64!!!";
          case 3 -> "Basic " + Base64.getEncoder().encodeToString("admin".getBytes());
          case 4 -> basic("admin", "wrong-password");
          case 5 -> basic("admin", "é".repeat(50));
          case 6 -> basic("nobody-" + r.nextInt(100), "x");
          case 7 -> "Bearer";
          case 8 -> "Bearer nst_" + "A".repeat(43);
          case 9 -> "Bearer nsa_" + "x".repeat(r.nextInt(3) == 0 ? 5_000 : 10);
          case 10 -> "Bearer " + f.agentToken();
          case 11 -> "Bearer " + f.victimAgentToken();
          case 12 -> basic("admin", f.adminPassword());
          case 13 -> "Digest username=\"admin\", realm=\"x\"";
          case 14 -> "basic " + Base64.getEncoder().encodeToString(("admin:" + f.adminPassword()).getBytes());
          case 15 -> "Basic " + new String(bytes(0xC3, 0xA9, 0xFF), StandardCharsets.ISO_8859_1);
          default -> "Bearer \u00e9\u00ff";
        };
    if (kind == 4 || kind == 5 || kind == 6) {
      // each costs a bcrypt on the server: keep them rare
      if (r.nextInt(4) != 0) {
        value = "Bearer nst_rare";
      }
    }
    if (value != null) {
      d.header("Authorization", value);
    }
    if (r.nextInt(8) == 0) {
      d.header("Authorization", "Bearer second");
    }
    d.description = "Authorization " + (value == null ? "none" : cut(value.split(" ")[0], 20) + " #" + kind);
  }

  // ------------------------------------------------------------------------------------------- headers

  private void headers(Draft d, Endpoint e, Random r) {
    d.category = "headers";
    int kind = r.nextInt(16);
    switch (kind) {
      case 0 -> d.header("Accept", pick(r, List.of("image/png", ";;;/===", "text/html", "application/xml",
          "text/html;q=0.9, */*;q=0.1", "application/json;q=0", "*/*;q=abc", "x".repeat(3_000), "application/problem+json")));
      case 1 -> d.header("Accept-Charset", pick(r, List.of("nope", "ISO-8859-1;q=0", "utf-16")));
      case 2 -> d.header("Range", pick(r, List.of("bytes=abc", "bytes=99999999-", "bytes=5-1", "bytes=0-0,1-1,2-2",
          "lines=1-2", "bytes=-0")));
      case 3 -> d.header(pick(r, List.of("If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since")),
          pick(r, List.of("garbage", "\"x\"", "W/", "Thu, 01 Jan 1970 00:00:00 GMT", "not a date", "*")));
      case 4 -> d.header("Expect", pick(r, List.of("100-continue", "200-ok", "nonsense")));
      case 5 -> d.header("X-HTTP-Method-Override", pick(r, List.of("DELETE", "PUT", "garbage")));
      case 6 -> d.header("Nightshift-Agent-Instance", pick(r, List.of("", "x".repeat(500), "\u00e9\u00ff", "instance")));
      case 7 -> {
        int size = pick(r, List.of(4_000, 9_000, 70_000));
        d.header("X-Huge", "x".repeat(size));
        d.mayGoUnanswered = size > 60_000; // Tomcat may close while the header is still arriving
      }
      case 8 -> {
        for (int i = 0; i < 120; i++) {
          d.header("X-Many-" + i, "v");
        }
      }
      case 9 -> d.header("X-Control", "a" + (char) (int) pick(r, List.of(1, 0, 8, 0x7F, 0x1B)) + "b");
      case 10 -> d.header("X-Latin", new String(bytes(0xC3, 0xA9, 0xFF, 0xFE), StandardCharsets.ISO_8859_1));
      case 11 -> d.header("X-Folded", "a\r\n  folded");
      case 12 -> d.replaceHeader("Host", pick(r, List.of("", "evil.example:99999", "a b", "[::1", "127.0.0.1:abc")));
      case 13 -> {
        d.header("Host", "127.0.0.1");
        d.header("Host", "other");
      }
      case 14 -> d.header("Cookie", pick(r, List.of("JSESSIONID=", "JSESSIONID=nope", "=;=;", "JSESSIONID=\"x",
          "a=" + "b".repeat(3_000))));
      default -> d.header("Origin", pick(r, List.of("http://evil.example", "null", "garbage")));
    }
    d.description = "headers #" + kind;
  }

  // ------------------------------------------------------------------------------------------- protocol

  private void protocol(Draft d, Endpoint e, Random r) {
    d.category = "protocol";
    String auth = d.headers.stream().filter(h -> h[0].equals("Authorization")).map(h -> "Authorization: " + h[1] + "\r\n")
        .findFirst().orElse("");
    String path = d.path;
    int kind = r.nextInt(20);
    String text =
        switch (kind) {
          case 0 -> "G@T " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
          case 1 -> "GET HTTP/1.1\r\nHost: x\r\n\r\n";
          case 2 -> "GET http://evil.example" + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n";
          case 3 -> "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
          case 4 -> "GET " + path + "\r\n\r\n";
          case 5 -> "GET " + path + " HTTP/9.9\r\nHost: x\r\n\r\n";
          case 6 -> "GET " + path + "\r\nHost: x\r\n\r\n";
          case 7 -> "GET " + path + " HTTP/1.1\nHost: x\n" + auth.replace("\r\n", "\n") + "Connection: close\n\n";
          case 8 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Content-Length: -5\r\n\r\n{}";
          case 9 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Content-Length: abc\r\n\r\n{}";
          case 10 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}";
          case 11 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
          case 12 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n";
          case 13 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n{}";
          case 14 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\nContent-Length: 2\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
          case 15 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n";
          case 16 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n";
          case 17 -> "GET " + path + "\u0001x HTTP/1.1\r\nHost: x\r\n\r\n";
          case 18 -> "GET " + path + "\u00e9\u00ff HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n";
          default -> "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Bad Header: y\r\n\r\n";
        };
    d.raw = text.getBytes(StandardCharsets.ISO_8859_1);
    d.http09 = kind == 1 || kind == 4 || kind == 6; // no version: Tomcat answers HTTP/0.9, a body alone
    d.halfClose = kind == 12;
    d.description = "protocol #" + kind;
  }

  // ------------------------------------------------------------------------------------------- paths

  private void path(Draft d, Endpoint e, Random r) {
    d.category = "path";
    String p = d.path;
    int kind = r.nextInt(14);
    d.path =
        switch (kind) {
          case 0 -> "/" + p;
          case 1 -> p + ";jsessionid=x";
          case 2 -> p.replaceFirst("/v1/", "/%2e/v1/");
          case 3 -> p.replaceFirst("/v1/", "/v1%2F");
          case 4 -> p.replaceFirst("/v1/", "/v1/./");
          case 5 -> p.replaceFirst("/v1/", "/v1/../v1/");
          case 6 -> p + "/";
          case 7 -> p.toUpperCase();
          case 8 -> p + "/zz-unknown";
          case 9 -> "/" + "a".repeat(7_000);
          case 10 -> p + "%5C";
          case 11 -> p + "%25";
          case 12 -> "/api/v2/jobs";
          default -> p + "/%E2%9C%93";
        };
    d.description = "path #" + kind;
  }

  private static String cut(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }
}
