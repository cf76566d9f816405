package dev.nightshift.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.Lease;
import dev.nightshift.server.security.AuthFailureLimiter;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Each input a fault run found answered with a 500, an HTML page or Spring's default JSON, or accepted although
 * wrong, reproduced one by one: every one now gets a 4xx problem+json whose detail says what to fix (and changes
 * nothing). {@link HostileRequestsTest} sends thousands more of their kind.
 */
@NightshiftTest
class HostileInputTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired AuthFailureLimiter limiter;

  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    limiter.reset();
    admin = Http.admin(port);
    CodeFixture.ensureRelease(port);
  }

  private static Http.Response problem(Http.Response r, int status, String... detailContains) {
    assertThat(r.status()).as(r.toString()).isEqualTo(status);
    assertThat(r.isProblem()).as(r.toString()).isTrue();
    assertThat(r.detail()).as(r.toString()).isNotBlank();
    if (detailContains.length > 0) {
      assertThat(r.detail()).as(r.toString()).contains(detailContains);
    }
    return r;
  }

  private static void problem(RawHttp.Answer a, int status, String... detailContains) {
    String text = a.text();
    assertThat(a.status()).as(text).isEqualTo(status);
    assertThat(a.contentType()).as(text).startsWith("application/problem+json");
    String detail = Http.JSON.readTree(text).path("detail").asString();
    assertThat(detail).as(text).isNotBlank();
    if (detailContains.length > 0) {
      assertThat(detail).as(text).contains(detailContains);
    }
  }

  private RawHttp.Answer raw(String request) {
    return RawHttp.exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), false, 10_000);
  }

  private String basicAdmin() {
    return "Authorization: Basic "
        + java.util.Base64.getEncoder().encodeToString(("admin:" + Http.ADMIN_PASSWORD).getBytes(StandardCharsets.UTF_8))
        + "\r\n";
  }

  private int jobs() {
    return jdbc.queryForObject("SELECT COUNT(*) FROM job", Integer.class);
  }

  @Test
  void envAndLabelValuesOver64KiBAreRefusedNamingTheFieldAndTheLimit() {
    Map<String, Object> job = new LinkedHashMap<>(Jobs.range("big-env", "true", 1, 1));
    job.put("env", Map.of("BIG", "x".repeat(70_000)));
    problem(admin.post("/api/v1/jobs", job), 400, "env is", "65535 bytes");
    job.put("env", Map.of("A", "x".repeat(40_000), "B", "y".repeat(40_000)));
    problem(admin.post("/api/v1/jobs", job), 400, "env is", "65535 bytes");
    job.remove("env");
    job.put("labels", Map.of("os", "x".repeat(70_000)));
    problem(admin.post("/api/v1/jobs", job), 400, "label 'os'", "limit is 200");
    problem(
        admin.post(
            "/api/v1/jobs?name=up&command=true&batchSize=1&env=BIG=" + "x".repeat(3_000) + "&label=os=" + "y".repeat(300),
            "1\n",
            "application/x-ndjson"),
        400,
        "label 'os'");
    assertThat(jobs()).isZero();

    Map<String, Object> register = new LinkedHashMap<>();
    register.put("enrollmentToken", Http.ENROLLMENT_TOKEN);
    register.put("name", "pc");
    register.put("slots", 1);
    register.put("labels", Map.of("os", "x".repeat(300)));
    problem(Http.anonymous(port).post(AgentPaths.REGISTER, register), 400, "label 'os'", "0-200");
    register.put("labels", Map.of("os", "x".repeat(70_000)));
    problem(Http.anonymous(port).post(AgentPaths.REGISTER, register), 413, "65536 bytes");
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM worker", Integer.class)).isZero();
  }

  @Test
  void multipartWithoutBoundaryIsAnUnsupportedMediaType() {
    problem(admin.post("/api/v1/jobs", "x", "multipart/form-data"), 415, "multipart/form-data", "application/json");
    problem(admin.post("/api/v1/users", "x", "multipart/form-data"), 415, "application/json");
    TestAgent agent = TestAgent.enroll(port, "multipart", 1, Map.of());
    problem(agent.http.post(AgentPaths.HEARTBEAT, "x", "multipart/form-data; boundary=z"), 415);
    problem(admin.post("/api/v1/users", "{}", "application/*"), 415, "wildcard");
    problem(admin.post("/api/v1/users", "{}", "json"), 415, "not a media type");
  }

  @Test
  void invalidUtf8InQueryParametersAndNamesIsRefused() {
    problem(admin.get("/api/v1/jobs?state=%FF"), 400, "Parameter 'state' is not valid UTF-8", "%C3%A9");
    problem(admin.get("/api/v1/audit?since=%FF"), 400, "'since'");
    problem(admin.post("/api/v1/jobs?name=%ED%A0%80&command=true&batchSize=1", "1\n", "application/x-ndjson"), 400,
        "'name'");
    problem(admin.post("/api/v1/jobs?name=%C0%80&command=true&batchSize=1", "1\n", "application/x-ndjson"), 400,
        "'name'");
    problem(admin.post("/api/v1/jobs?name=a%00b&command=true&batchSize=1", "1\n", "application/x-ndjson"), 400,
        "name must not contain control characters");
    // An overlong NUL inside a JSON body (C0 80) and an escaped one: never stored as U+0000.
    for (byte[] name : List.of(new byte[] {'a', (byte) 0xC0, (byte) 0x80, 'b'}, "a\\u0000b".getBytes())) {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.writeBytes("{\"name\":\"".getBytes());
      body.writeBytes(name);
      body.writeBytes("\",\"command\":\"true\",\"batchSize\":1,\"range\":{\"start\":0,\"end\":1}}".getBytes());
      Http.Response r = admin.post("/api/v1/jobs", HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()),
          "application/json");
      assertThat(r.status()).as(r.toString()).isEqualTo(400);
      assertThat(r.isProblem()).isTrue();
    }
    problem(admin.post("/api/v1/jobs", "{\"name\":\"a\\ud800\",\"command\":\"true\",\"batchSize\":1,"
        + "\"range\":{\"start\":0,\"end\":1}}"), 400, "unpaired UTF-16 surrogate");
    problem(admin.post("/api/v1/jobs", "{\"name\":\"n\",\"command\":\"a\\u0000b\",\"batchSize\":1,"
        + "\"range\":{\"start\":0,\"end\":1}}"), 400, "command must not contain NUL");
    assertThat(jobs()).isZero();
  }

  @Test
  void passwordsAreLimitedTo72BytesNotJust72Characters() {
    admin.delete("/api/v1/users/accent");
    problem(admin.post("/api/v1/users", Map.of("username", "accent", "password", "é".repeat(40), "role", "OPERATOR")),
        400, "at most 72 bytes", "80 bytes");
    problem(admin.post("/api/v1/users", Map.of("username", "accent", "password", "short", "role", "OPERATOR")),
        400, "at least 12 characters");
    Http.Response ok =
        admin.post("/api/v1/users", Map.of("username", "accent", "password", "é".repeat(36), "role", "OPERATOR"));
    assertThat(ok.status()).as(ok.toString()).isEqualTo(201);
    problem(admin.patch("/api/v1/users/accent", Map.of("password", "€".repeat(25))), 400, "75 bytes");
    assertThat(Http.basic(port, "accent", "é".repeat(36)).get("/api/v1/jobs").status()).isEqualTo(200);
    assertThat(admin.delete("/api/v1/users/accent").status()).isEqualTo(204);
  }

  @Test
  void enrollmentTokenExpiryIsBounded() {
    problem(admin.post("/api/v1/enrollment-tokens", "{\"expiresInHours\":1000000000000}"), 400,
        "expiresInHours must be between 1 and 87840");
    problem(admin.post("/api/v1/enrollment-tokens", "{\"expiresInHours\":9223372036854775807}"), 400,
        "expiresInHours");
    problem(admin.post("/api/v1/enrollment-tokens", "{\"expiresInHours\":0}"), 400, "expiresInHours");
    problem(admin.post("/api/v1/enrollment-tokens", "{\"expiresInHours\":1e400}"), 400);
    assertThat(admin.post("/api/v1/enrollment-tokens", "{\"expiresInHours\":87840}").status()).isEqualTo(201);
    assertThat(admin.post("/api/v1/enrollment-tokens", "null").status()).isEqualTo(201);
  }

  @Test
  void agentReportsWithImpossibleFieldsAreRefused() {
    long job = Jobs.submit(admin, Jobs.range("reports", "true", 2, 1));
    TestAgent agent = TestAgent.enroll(port, "reporter", 2, Map.of());
    List<Lease> leases = agent.claim(2, 0);
    Lease lease = leases.get(0);
    String ids = "\"batchId\":" + lease.batchId() + ",\"leaseToken\":\"" + lease.leaseToken() + "\",\"commit\":\""
        + lease.commit() + "\"";

    Http.Response release = agent.http.post(AgentPaths.RELEASE, "{\"leases\":[null]}");
    assertThat(release.status()).as(release.toString()).isEqualTo(200);
    assertThat(release.json().get("released").asInt()).isZero();
    problem(agent.http.post(AgentPaths.COMPLETE, "{" + ids + ",\"version\":\"" + "v".repeat(201) + "\",\"exitCode\":0}"),
        400, "version must be at most 200 characters");
    problem(agent.http.post(AgentPaths.FAIL, "{" + ids + ",\"version\":\"" + "v".repeat(201) + "\",\"outcome\":\"FAILED\"}"),
        400, "version must be at most 200 characters");
    problem(agent.http.post(AgentPaths.COMPLETE, "{" + ids + ",\"exitCode\":0,\"startedAt\":\"+999999999-01-01T00:00:00Z\"}"),
        400, "startedAt and finishedAt must be real times");
    problem(agent.http.post(AgentPaths.FAIL, "{" + ids + ",\"outcome\":null}"), 400, "outcome is required");
    problem(agent.http.post(AgentPaths.FAIL, "{" + ids + "}"), 400, "outcome is required");
    assertThat(Jobs.get(admin, job).get("counts").get("leased").asInt()).as("nothing changed").isEqualTo(2);

    // A repeat with the same output is DUPLICATE; with different output, 409.
    assertThat(agent.complete(lease, "one\n").status()).isEqualTo(200);
    assertThat(agent.complete(lease, "one\n").json().get("status").asString()).isEqualTo("DUPLICATE");
    problem(agent.complete(lease, "two\n"), 409, "other output");
  }

  @Test
  void idsAndNumbersInPathsAndQueriesAreDecimalDigitsOnly() {
    for (String id : List.of("+1", "0x10", "%2B1", "%200", "1e3", "99999999999999999999")) {
      problem(admin.get("/api/v1/jobs/" + id), 400, "path segment 'id' must be a whole number in decimal digits");
    }
    problem(admin.get("/api/v1/batches/0x10"), 400, "'id'");
    problem(admin.delete("/api/v1/enrollment-tokens/+1"), 400, "'id'");
    problem(admin.get("/api/v1/jobs?before=0x10"), 400, "query parameter 'before'", "0x10");
    problem(admin.get("/api/v1/jobs?limit=%2B5"), 400, "query parameter 'limit'");
    problem(admin.get("/api/v1/jobs/-1"), 404, "job -1 does not exist");
  }

  @Test
  void adminBodiesRefuseUnknownFieldsNamingThem() {
    problem(admin.post("/api/v1/users", Map.of("username", "u", "password", "long-enough-pass", "role", "OPERATOR",
        "admin", true)), 400, "unknown field(s) [admin]", "known fields are [password, role, username]");
    problem(admin.patch("/api/v1/users/admin", Map.of("passwd", "long-enough-pass")), 400, "[passwd]");
    problem(admin.post("/api/v1/api-tokens", Map.of("name", "t", "scope", "all")), 400, "[scope]");
    problem(admin.post("/api/v1/code/promotions", Map.of("branch", "main")), 400, "[branch]");
    problem(admin.post("/api/v1/enrollment-tokens", Map.of("expires", 1)), 400, "[expires]");
    problem(admin.post("/api/v1/jobs", "{\"name\":\"n\",\"command\":\"true\",\"batchSize\":1,"
        + "\"range\":{\"start\":0,\"end\":1,\"step\":2}}"), 400, "[range.step]");
    problem(admin.post("/api/v1/users", "{\"username\":\"a\",\"username\":\"b\"}"), 400, "Duplicate");
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM app_user WHERE username = 'u'", Integer.class)).isZero();
  }

  @Test
  void frameworkAndContainerRefusalsAreProblemsToo() {
    String auth = basicAdmin();
    problem(raw("GET /nowhere HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 404,
        "There is nothing at /nowhere");
    problem(raw("DELETE /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 405, "DELETE");
    problem(raw("TRACE /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 405, "TRACE");
    problem(raw("PROPFIND /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 400, "PROPFIND");
    problem(raw("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + auth + "Accept: image/png\r\nConnection: close\r\n\r\n"),
        406);
    problem(raw("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + auth + "Accept: ;;;/===\r\nConnection: close\r\n\r\n"),
        406, "Accept");
    problem(raw("POST /api/v1/users HTTP/1.1\r\nHost: x\r\n" + auth
        + "Content-Type: application/json\r\nContent-Length: 1\r\nConnection: close\r\n\r\n{"), 400, "Malformed JSON");
    problem(raw("GET /assets/dashboard.css HTTP/1.1\r\nHost: x\r\nRange: bytes=zz\r\nConnection: close\r\n\r\n"), 416,
        "Range");
    // Spring Security's firewall
    for (String path : List.of("//api/v1/jobs", "/api/v1/jobs;x=1", "/api/v1/%2e%2e/jobs", "/git//code.git/HEAD",
        "//git/code.git/info/refs")) {
      problem(raw("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 400,
          "Send a normalized URL");
    }
    problem(raw("GET /actuator/health?a%00b=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 400,
        "parameter name");
    // Tomcat itself
    problem(raw("GET /api/v1/jobs%2F1 HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 400,
        "encoded slash");
    problem(raw("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + "x".repeat(20_000) + "\r\nConnection: close\r\n\r\n"),
        400, "Request header is too large", "8 KB");
    problem(raw("GET /api/v1/jobs?x=" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 400,
        "8 KB");
    problem(raw("GET /api/v1/jobs?a=b|c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 400, "Invalid character");
    problem(raw("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"), 400, "header");
    problem(raw("GET /api/v1/jobs HTTP/9.9\r\nHost: x\r\n\r\n"), 400, "HTTP/1.1");
    problem(raw("POST /api/v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}"), 400,
        "Transfer-Encoding");
    problem(raw("POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"), 400);
    problem(raw("GET /actuator/health/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 404, "nothing at");
    problem(raw("GET /git/ HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n"), 404);
    // the security chains
    problem(raw("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 401, "Authentication required");
    problem(raw("POST /ui/jobs/1/cancel HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 0\r\nConnection: close\r\n\r\n"),
        403, "CSRF");
    RawHttp.Answer page = raw("POST /ui/jobs/1/cancel HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
        + "Content-Length: 0\r\nConnection: close\r\n\r\n");
    assertThat(page.status()).isEqualTo(403);
    assertThat(page.contentType()).as("a browser gets a page").startsWith("text/html");
    // invalid UTF-8 in a login form
    problem(raw("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + "Content-Length: 23\r\nConnection: close\r\n\r\nusername=%FF&password=b"), 400, "'username'");
  }

  @Test
  void aBodyCutShortIsNamedAsSuch() {
    TestAgent agent = TestAgent.enroll(port, "cut", 1, Map.of());
    String body = "{\"batchId\":1,\"leaseToken\":\"abc\",\"exitCode\":0,\"output\":\"" + "x".repeat(100) + "\"}";
    String request = "POST " + AgentPaths.COMPLETE + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + agent.token
        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n"
        + body.substring(0, 40);
    problem(RawHttp.exchange(port, request.getBytes(StandardCharsets.UTF_8), true, 10_000), 400, "ended early");
  }

  @Test
  void gitRequestsThatAreNotGitAre400NotServerErrors() {
    String auth = basicAdmin();
    for (String service : List.of("git-upload-pack", "git-receive-pack")) {
      RawHttp.Answer a = raw("POST /git/code.git/" + service + " HTTP/1.1\r\nHost: x\r\n" + auth
          + "Content-Type: application/x-" + service + "-request\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngarbage");
      assertThat(a.status()).as(a.text()).isEqualTo(400);
      assertThat(a.text()).as("Git's own error format, which git shows its user").contains("ERR not a valid Git request");
    }
  }
}
