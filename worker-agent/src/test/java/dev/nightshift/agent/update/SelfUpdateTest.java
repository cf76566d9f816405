package dev.nightshift.agent.update;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.nightshift.protocol.AgentOffer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloading an offered agent over real HTTP: staged only with the digest the server named. */
class SelfUpdateTest {
  static final byte[] JAR = "not really a jar, but bytes with a digest".getBytes(StandardCharsets.UTF_8);

  @TempDir Path data;
  HttpServer server;
  final AtomicInteger downloads = new AtomicInteger();
  LauncherDir dir;
  SelfUpdate update;

  @BeforeEach
  void serve() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/install/nightshift-agent.jar",
        exchange -> {
          downloads.incrementAndGet();
          exchange.sendResponseHeaders(200, JAR.length);
          exchange.getResponseBody().write(JAR);
          exchange.close();
        });
    server.start();
    dir = LauncherDir.under(data);
    update = new SelfUpdate(dir, URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"), "1.0", null);
  }

  @AfterEach
  void stop() {
    update.shutdown();
    server.stop(0);
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void aDownloadWithTheNamedDigestIsStaged() throws Exception {
    Path jar = update.stage(new AgentOffer("1.1", sha256(JAR), "/install/nightshift-agent.jar"));
    assertThat(jar).isEqualTo(dir.jar("1.1")).hasBinaryContent(JAR);
    assertThat(LauncherDir.read(dir.staged())).isEqualTo("1.1");
    try (var files = Files.list(dir.versions())) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("1.1.jar");
    }
  }

  @Test
  void aDownloadWithAnotherDigestIsRefusedAndNothingIsStaged() throws Exception {
    String wrong = sha256("other bytes".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> update.stage(new AgentOffer("1.1", wrong, "/install/nightshift-agent.jar")))
        .isInstanceOf(SelfUpdate.RefusedException.class)
        .hasMessageContaining("SHA-256 " + sha256(JAR))
        .hasMessageContaining(wrong);
    assertThat(dir.staged()).doesNotExist();
    assertThat(dir.jar("1.1")).doesNotExist();
    try (var files = Files.list(dir.versions())) {
      assertThat(files).as("no temporary file left").isEmpty();
    }
  }

  @Test
  void anOfferWithoutADigestOrWithAVersionThatCannotNameAFileIsRefused() {
    assertThatThrownBy(() -> update.stage(new AgentOffer("1.1", null, "/install/nightshift-agent.jar")))
        .isInstanceOf(SelfUpdate.RefusedException.class);
    assertThatThrownBy(() -> update.stage(new AgentOffer("../../evil", "a".repeat(64), "/x")))
        .isInstanceOf(SelfUpdate.RefusedException.class);
    assertThat(downloads).hasValue(0);
  }

  @Test
  void aHeartbeatAnswerRecordsTheMarkerAndAnOfferIsStagedInTheBackground() throws Exception {
    var staged = new CopyOnWriteArrayList<String>();
    update.onStaged(staged::add);
    update.heartbeatAnswered(null);
    assertThat(LauncherDir.read(dir.heartbeatOk())).isEqualTo("1.0");
    update.heartbeatAnswered(new AgentOffer("1.0", sha256(JAR), null));
    assertThat(downloads).as("its own version is not downloaded").hasValue(0);
    update.heartbeatAnswered(new AgentOffer("1.1", sha256(JAR), "/install/nightshift-agent.jar"));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !staged.isEmpty());
    assertThat(staged).containsExactly("1.1");
    assertThat(update.staged()).isEqualTo("1.1");
    update.heartbeatAnswered(new AgentOffer("1.1", sha256(JAR), "/install/nightshift-agent.jar"));
    assertThat(downloads).as("staged once").hasValue(1);
  }

  @Test
  void aRefusedVersionIsReportedAndNotDownloadedAgain() throws Exception {
    LauncherDir.write(dir.refused(), "1.1");
    assertThat(update.refused()).isEqualTo("1.1");
    update.heartbeatAnswered(new AgentOffer("1.1", sha256(JAR), "/install/nightshift-agent.jar"));
    update.shutdown();
    assertThat(downloads).hasValue(0);
    assertThat(dir.staged()).doesNotExist();
  }

  @Test
  void offerUrlsResolveAgainstTheServer() {
    assertThat(update.resolve("/install/nightshift-agent.jar").toString())
        .isEqualTo("http://127.0.0.1:" + server.getAddress().getPort() + "/install/nightshift-agent.jar");
    assertThat(update.resolve("https://mirror.example/a.jar").toString()).isEqualTo("https://mirror.example/a.jar");
  }
}
