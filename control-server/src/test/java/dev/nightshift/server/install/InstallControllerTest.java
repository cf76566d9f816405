package dev.nightshift.server.install;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.NightshiftTest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The agent downloads over real HTTP, unauthenticated: the jar and its SHA-256 (of a small jar this test writes
 * where the shared context looks for the agent), the scripts with this server's URL filled in, and the token check
 * that counts no use. Bad inputs tried: a wrong, a missing and a used-up token; a script that does not exist.
 */
@NightshiftTest
class InstallControllerTest {
  @LocalServerPort int port;
  static byte[] jar;

  @BeforeAll
  static void writeServedJar() throws IOException {
    Path path = Path.of(NightshiftTest.SERVED_AGENT_JAR);
    Files.createDirectories(path.getParent());
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.IMPLEMENTATION_VERSION, "9.9.9-test");
    try (OutputStream file = Files.newOutputStream(path);
        JarOutputStream out = new JarOutputStream(file, manifest)) {
      out.putNextEntry(new JarEntry("hello.txt"));
      out.write("a stand-in for the agent\n".repeat(5000).getBytes());
      out.closeEntry();
    }
    jar = Files.readAllBytes(path);
  }

  @Test
  void servesTheAgentJarWithItsSha256AndVersionToAnyone() throws Exception {
    HttpResponse<byte[]> download =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/install/nightshift-agent.jar")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(download.statusCode()).isEqualTo(200);
    assertThat(download.body()).isEqualTo(jar);
    assertThat(download.headers().firstValue("Content-Type")).hasValue("application/java-archive");
    assertThat(download.headers().firstValue("Nightshift-Agent-Version")).hasValue("9.9.9-test");
    assertThat(download.headers().firstValue("Set-Cookie")).isEmpty();
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(jar));

    Http anonymous = Http.anonymous(port);
    assertThat(anonymous.get("/install/nightshift-agent.jar.sha256").body()).isEqualTo(sha + "  nightshift-agent.jar\n");
    var manifest = anonymous.get("/install/manifest.json").json();
    assertThat(manifest.get("agent").get("version").asString()).isEqualTo("9.9.9-test");
    assertThat(manifest.get("agent").get("sha256").asString()).isEqualTo(sha);
    assertThat(manifest.get("agent").get("size").asLong()).isEqualTo(jar.length);
    assertThat(manifest.get("agent").get("url").asString())
        .isEqualTo("http://127.0.0.1:" + port + "/install/nightshift-agent.jar");
  }

  @Test
  void servesTheRuntimeBundleWithItsSha256AndSaysWhatToDoWhenThereIsNone() throws Exception {
    Path path = Path.of(NightshiftTest.SERVED_AGENT_RUNTIME);
    Files.deleteIfExists(path);
    Http anonymous = Http.anonymous(port);
    Http.Response none = anonymous.get("/install/nightshift-agent-runtime-linux-x64.tar.gz");
    assertThat(none.status()).isEqualTo(404);
    assertThat(none.detail()).contains("-DskipAgentRuntime", "NIGHTSHIFT_INSTALL_AGENT_RUNTIME", "Java 17");
    assertThat(anonymous.get("/install/nightshift-agent-runtime-linux-x64.tar.gz.sha256").status()).isEqualTo(404);
    assertThat(anonymous.get("/install/manifest.json").json().get("runtime").isNull()).isTrue();

    // a stand-in tarball (what the build makes is checked end to end by AgentInstallIT)
    byte[] tarball = new byte[300_000];
    new java.util.Random(7).nextBytes(tarball);
    Files.createDirectories(path.getParent());
    Files.write(path, tarball);
    try {
      HttpResponse<byte[]> download =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + port + "/install/nightshift-agent-runtime-linux-x64.tar.gz"))
                      .build(),
                  HttpResponse.BodyHandlers.ofByteArray());
      assertThat(download.statusCode()).isEqualTo(200);
      assertThat(download.body()).isEqualTo(tarball);
      assertThat(download.headers().firstValue("Content-Type")).hasValue("application/gzip");
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tarball));
      assertThat(download.headers().firstValue("ETag")).hasValue("\"" + sha + "\"");
      assertThat(anonymous.get("/install/nightshift-agent-runtime-linux-x64.tar.gz.sha256").body())
          .isEqualTo(sha + "  nightshift-agent-runtime-linux-x64.tar.gz\n");
      var runtime = anonymous.get("/install/manifest.json").json().get("runtime");
      assertThat(runtime.get("platform").asString()).isEqualTo("linux-x64");
      assertThat(runtime.get("sha256").asString()).isEqualTo(sha);
      assertThat(runtime.get("size").asLong()).isEqualTo(tarball.length);
      assertThat(runtime.get("url").asString())
          .isEqualTo("http://127.0.0.1:" + port + "/install/nightshift-agent-runtime-linux-x64.tar.gz");
    } finally {
      Files.deleteIfExists(path);
    }
  }

  @Test
  void servesEveryScriptWithThisServersUrlFilledIn() {
    for (String script : InstallController.SCRIPTS) {
      Http.Response r = Http.anonymous(port).get("/install/" + script);
      assertThat(r.status()).as(script).isEqualTo(200);
      assertThat(r.body()).as(script).doesNotContain(InstallController.SERVER_PLACEHOLDER);
      assertThat(r.headers().firstValue("Cache-Control")).as(script).hasValue("no-store");
    }
    assertThat(Http.anonymous(port).get("/install/agent.sh").body())
        .contains("SERVER='http://127.0.0.1:" + port + "'");
    assertThat(Http.anonymous(port).get("/install/install-agent.ps1").body())
        .contains("[string]$Server = 'http://127.0.0.1:" + port + "'");
    Http.Response missing = Http.anonymous(port).get("/install/other.sh");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.detail()).contains("agent.sh");
  }

  @Test
  void theTokenCheckSaysWhetherATokenWouldEnrollWithoutUsingItUp() {
    Http anonymous = Http.anonymous(port);
    assertThat(check(Http.ENROLLMENT_TOKEN).status()).isEqualTo(204);

    Http.Response wrong = check("nse_not-a-token");
    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.isProblem()).isTrue();
    assertThat(wrong.detail()).contains("unknown, expired, used up or revoked");
    Http.Response none = anonymous.post("/install/enrollment-check", "", "text/plain");
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.detail()).contains("--token");

    String once =
        Http.admin(port).post("/api/v1/enrollment-tokens", "{\"maxUses\":1}").json().get("token").asString();
    assertThat(check(once).status()).isEqualTo(204);
    assertThat(check(once).status()).as("a check uses nothing up").isEqualTo(204);
    assertThat(register(once).status()).isEqualTo(200);
    assertThat(check(once).status()).as("used up by the enrollment").isEqualTo(401);
  }

  private Http.Response check(String token) {
    return Http.bearer(port, token).post("/install/enrollment-check", "", "text/plain");
  }

  private Http.Response register(String token) {
    return Http.anonymous(port)
        .post(
            AgentPaths.REGISTER,
            new RegisterRequest(
                token, "install-check", new HostFacts("h", "Linux", "amd64", 2, 1L << 30, "test", "17"), 1, Map.of()));
  }
}
