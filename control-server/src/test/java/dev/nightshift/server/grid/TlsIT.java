package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.ServerProcess;
import java.io.InputStream;
import java.net.Proxy;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.TransportHttp;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.transport.http.HttpConnection;
import org.eclipse.jgit.transport.http.HttpConnectionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * TLS by standard Spring Boot settings with a self-signed certificate made by keytool in the test: the real server
 * jar serves HTTPS (API, agent protocol, Git, dashboard with HSTS); a real agent trusts it only through
 * {@code --ca-file}, enrolls, fetches the code over HTTPS with JGit and runs a job; an agent without the CA file
 * is refused by its own TLS check.
 */
class TlsIT {
  static final String PASSWORD = "changeit-tls";
  @TempDir static Path dir;
  static ServerProcess server;
  static Path caFile;
  static TrustManager[] trust;
  static HttpClient https;

  @BeforeAll
  static void startServer() throws Exception {
    Path keystore = dir.resolve("server.p12");
    caFile = dir.resolve("ca.pem");
    keytool(
        "-genkeypair", "-alias", "nightshift", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
        "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-keystore", keystore.toString(),
        "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD);
    keytool(
        "-exportcert", "-alias", "nightshift", "-keystore", keystore.toString(), "-storepass", PASSWORD, "-rfc",
        "-file", caFile.toString());
    assertThat(Files.readString(caFile)).startsWith("-----BEGIN CERTIFICATE-----");

    KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
    anchors.load(null, null);
    try (InputStream in = Files.newInputStream(caFile)) {
      anchors.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(anchors);
    trust = tmf.getTrustManagers();
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust, null);
    https = HttpClient.newBuilder().sslContext(context).build();

    Map<String, String> env = new java.util.LinkedHashMap<>(ServerProcess.fastLeases());
    env.put("SERVER_SSL_ENABLED", "true");
    env.put("SERVER_SSL_KEY_STORE", keystore.toString());
    env.put("SERVER_SSL_KEY_STORE_TYPE", "PKCS12");
    env.put("SERVER_SSL_KEY_STORE_PASSWORD", PASSWORD);
    env.put("SERVER_SSL_KEY_ALIAS", "nightshift");
    server = ServerProcess.startTls(dir.resolve("server"), env, List.of("-Xmx384m"), context);
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
  }

  private static HttpResponse<String> api(String method, String path, String json) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(server.url() + path))
            .header(
                "Authorization",
                "Basic "
                    + Base64.getEncoder()
                        .encodeToString(("admin:" + Http.ADMIN_PASSWORD).getBytes(StandardCharsets.UTF_8)))
            .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    if (json != null) {
      b.header("Content-Type", "application/json");
    }
    return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anAgentTrustingTheCaFileEnrollsFetchesCodeAndRunsAJobOverHttps() throws Exception {
    // Push and promote code over HTTPS (JGit, trusting the same CA).
    Path work = dir.resolve("code");
    try (Git git = Git.init().setDirectory(work.toFile()).setInitialBranch("main").call()) {
      Files.writeString(work.resolve("VERSION"), "tls-1\n");
      Files.writeString(work.resolve("hello.sh"), "echo \"hello $NIGHTSHIFT_RANGE_START over tls\"\n");
      git.add().addFilepattern(".").call();
      git.commit().setMessage("tls").setAuthor("Test", "test@example.com").call();
      git.push()
          .setRemote(server.url() + "/git/code.git")
          .setRefSpecs(new RefSpec("refs/heads/main:refs/heads/main"))
          .setCredentialsProvider(new UsernamePasswordCredentialsProvider("admin", Http.ADMIN_PASSWORD))
          .setTransportConfigCallback(
              t -> {
                TransportHttp http = (TransportHttp) t;
                HttpConnectionFactory plain = http.getHttpConnectionFactory();
                http.setHttpConnectionFactory(
                    new HttpConnectionFactory() {
                      @Override
                      public HttpConnection create(URL url) throws java.io.IOException {
                        return trusting(plain.create(url));
                      }

                      @Override
                      public HttpConnection create(URL url, Proxy proxy) throws java.io.IOException {
                        return trusting(plain.create(url, proxy));
                      }
                    });
              })
          .call();
    }
    HttpResponse<String> promoted = api("POST", "/api/v1/code/promotions", "{\"ref\": \"main\"}");
    assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(201);
    HttpResponse<String> submitted =
        api(
            "POST",
            "/api/v1/jobs",
            "{\"name\": \"tls\", \"command\": \"sh hello.sh\", \"batchSize\": 1, \"range\": {\"start\": 0, \"end\": 2}}");
    assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(201);
    long jobId = Http.JSON.readTree(submitted.body()).get("id").asLong();

    // Without the CA file the agent's own TLS check refuses the server.
    AgentProcess untrusting =
        AgentProcess.start("run", server.url(), dir.resolve("agent-untrusting"), "untrusting.log", "--name", "no-ca");
    try (untrusting) {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(300))
          .until(() -> untrusting.logText().contains("cannot reach"));
      assertThat(untrusting.logText()).containsIgnoringCase("certif");
    }

    try (AgentProcess agent =
        AgentProcess.start(
            "once", server.url(), dir.resolve("agent-tls"), "agent-tls.log", "--ca-file", caFile.toString(),
            "--name", "tls-agent")) {
      assertThat(agent.waitFor(120)).as(agent.logText()).isZero();
      JsonNode job = Http.JSON.readTree(api("GET", "/api/v1/jobs/" + jobId, null).body());
      assertThat(job.get("state").asString()).as(agent.logText()).isEqualTo("SUCCEEDED");
      assertThat(api("GET", "/api/v1/jobs/" + jobId + "/results", null).body())
          .isEqualTo("hello 0 over tls\nhello 1 over tls\n");
    }

    // The dashboard over HTTPS carries HSTS and the other security headers.
    HttpResponse<String> login =
        https.send(HttpRequest.newBuilder(URI.create(server.url() + "/login")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(login.headers().firstValue("Strict-Transport-Security")).isPresent();
    assertThat(login.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(login.headers().firstValue("X-Frame-Options")).hasValue("DENY");
  }

  private static HttpConnection trusting(HttpConnection connection) throws java.io.IOException {
    try {
      connection.configure(null, trust, null);
    } catch (java.security.GeneralSecurityException e) {
      throw new java.io.IOException(e);
    }
    return connection;
  }
}
