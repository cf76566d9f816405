package dev.nightshift.server.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * Job secrets (issue 11): sealed at rest, never shown (ADMIN and OPERATOR see names only), handed only in the lease
 * to the agent holding it. Bad inputs tried: a reserved NIGHTSHIFT_* name, a name in both env and secrets, an
 * invalid name, an empty value, a NUL in a value, a secret in an upload's URL, a secret header without '=';
 * none echoes a value and none creates a job. Keys: a secret sealed with one key does not open with another (the
 * message names both key ids), a previous key still opens what it sealed, a tampered value is refused.
 */
@NightshiftTest
class JobSecretsTest {
  static final String VALUE = "s3cret-Value-that-must-not-leak";
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired JobSecrets secrets;
  @TempDir Path dir;
  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    CodeFixture.ensureRelease(port);
    admin = Http.admin(port);
  }

  @Test
  void secretsAreSealedNeverShownAndHandedOnlyToTheLeaseHolder() {
    Map<String, Object> job = new LinkedHashMap<>(Jobs.range("secret", "true", 1, 1));
    job.put("env", Map.of("MODE", "fast"));
    job.put("secrets", Map.of("DB_PASSWORD", VALUE));
    long id = Jobs.submit(admin, job);

    String stored = jdbc.queryForObject("SELECT secrets FROM job WHERE id = ?", String.class, id);
    assertThat(stored).startsWith("v1:").doesNotContain(VALUE);
    String dump = jdbc.queryForList("SELECT * FROM job WHERE id = ?", id).toString();
    assertThat(dump).as("no column holds the value").doesNotContain(VALUE);

    admin.post("/api/v1/users", Map.of("username", "secret-reader", "password", "reader-password-1", "role", "OPERATOR"));
    Http operator = Http.basic(port, "secret-reader", "reader-password-1");
    for (Http who : List.of(admin, operator)) {
      String one = who.get("/api/v1/jobs/" + id).body();
      String list = who.get("/api/v1/jobs").body();
      assertThat(one).contains("\"secrets\":[\"DB_PASSWORD\"]").doesNotContain(VALUE);
      assertThat(list).contains("\"secrets\":[\"DB_PASSWORD\"]").doesNotContain(VALUE);
    }

    TestAgent agent = TestAgent.enroll(port, "secret-agent", 1, Map.of());
    List<Lease> leases = agent.claim(1, 0);
    assertThat(leases).hasSize(1);
    assertThat(leases.get(0).env()).containsEntry("DB_PASSWORD", VALUE).containsEntry("MODE", "fast");
    assertThat(agent.complete(leases.get(0), "{}\n").status()).isEqualTo(200);
    assertThat(admin.get("/api/v1/batches/" + leases.get(0).batchId()).body()).doesNotContain(VALUE);
  }

  @Test
  void anUploadTakesSecretsFromHeadersNeverFromItsUrl() {
    Http withSecret = admin.withHeader("Nightshift-Secret", "API_KEY=" + VALUE);
    var r = withSecret.post("/api/v1/jobs?name=up&command=true&batchSize=1",
        HttpRequest.BodyPublishers.ofString("1\n2\n"), "application/x-ndjson");
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    assertThat(r.body()).contains("\"secrets\":[\"API_KEY\"]").doesNotContain(VALUE);
    TestAgent agent = TestAgent.enroll(port, "upload-agent", 1, Map.of());
    assertThat(agent.claim(1, 0).get(0).env()).containsEntry("API_KEY", VALUE);

    long before = jobCount();
    var inUrl = admin.post("/api/v1/jobs?name=up&command=true&batchSize=1&secret=API_KEY%3D" + VALUE,
        HttpRequest.BodyPublishers.ofString("1\n"), "application/x-ndjson");
    assertThat(inUrl.status()).isEqualTo(400);
    assertThat(inUrl.detail()).contains("never taken from a URL").contains("Nightshift-Secret: NAME=value");
    var noEquals = admin.withHeader("Nightshift-Secret", VALUE).post("/api/v1/jobs?name=up&command=true&batchSize=1",
        HttpRequest.BodyPublishers.ofString("1\n"), "application/x-ndjson");
    assertThat(noEquals.status()).isEqualTo(400);
    assertThat(noEquals.detail()).contains("NAME=value").doesNotContain(VALUE);
    assertThat(jobCount()).isEqualTo(before);
  }

  @Test
  void badSecretsAreRefusedWithoutEchoingAValueAndCreateNothing() {
    long before = jobCount();
    Map<Map<String, Object>, String> bad = new LinkedHashMap<>();
    bad.put(Map.of("NIGHTSHIFT_TOKEN", VALUE), "reserved");
    bad.put(Map.of("bad name", VALUE), "not a valid variable name");
    bad.put(Map.of("EMPTY", ""), "has no value");
    bad.put(Map.of("NUL", VALUE + "\u0000"), "NUL");
    bad.put(Map.of("MODE", VALUE), "both in env and in secrets");
    for (var e : bad.entrySet()) {
      Map<String, Object> job = new LinkedHashMap<>(Jobs.range("bad", "true", 1, 1));
      job.put("env", Map.of("MODE", "fast"));
      job.put("secrets", e.getKey());
      var r = admin.post("/api/v1/jobs", job);
      assertThat(r.status()).as(r.toString()).isEqualTo(400);
      assertThat(r.isProblem()).isTrue();
      assertThat(r.detail()).contains(e.getValue()).doesNotContain(VALUE);
    }
    assertThat(jobCount()).isEqualTo(before);
  }

  @Test
  void keysSealOpenRotateAndRefuseWhatTheyCannotOpen() throws Exception {
    JsonMapper json = JsonMapper.builder().build();
    Path oldKey = dir.resolve("old.key");
    JobSecrets first = secretsWith(json, oldKey, List.of());
    String sealed = first.seal(Map.of("A", VALUE));
    assertThat(Files.getPosixFilePermissions(oldKey)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(first.open(sealed)).containsEntry("A", VALUE);
    assertThat(first.seal(Map.of("A", VALUE))).as("a fresh nonce each time").isNotEqualTo(sealed);

    JobSecrets other = secretsWith(json, dir.resolve("new.key"), List.of());
    assertThatThrownBy(() -> other.open(sealed))
        .hasMessageContaining("sealed with key " + first.keyId())
        .hasMessageContaining("current: " + other.keyId())
        .hasMessageContaining("same nightshift.secrets.key-file");
    JobSecrets rotated = secretsWith(json, dir.resolve("new.key"), List.of(oldKey.toString()));
    assertThat(rotated.open(sealed)).containsEntry("A", VALUE);
    assertThat(rotated.keyId()).isEqualTo(other.keyId());

    byte[] raw = java.util.Base64.getDecoder().decode(sealed.substring(3));
    raw[raw.length - 1] ^= 1;
    String tampered = "v1:" + java.util.Base64.getEncoder().encodeToString(raw);
    assertThatThrownBy(() -> first.open(tampered)).hasMessageContaining("do not open");

    Files.writeString(dir.resolve("short.key"), "c2hvcnQ=\n");
    assertThatThrownBy(() -> secretsWith(json, dir.resolve("short.key"), List.of()).seal(Map.of("A", "b")))
        .hasMessageContaining("32 random bytes");
  }

  private JobSecrets secretsWith(JsonMapper json, Path key, List<String> previous) {
    return new JobSecrets(json, null, key.toString(), previous);
  }

  private long jobCount() {
    return jdbc.queryForObject("SELECT COUNT(*) FROM job", Long.class);
  }
}
