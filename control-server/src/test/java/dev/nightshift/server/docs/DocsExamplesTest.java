package dev.nightshift.server.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.NightshiftTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The examples of the docs pages that need only a server, pasted ({@link DocsPages}): every {@code bash} block of
 * the page, in order, in one bash session against a real server (the test server over HTTP), with {@code S},
 * {@code A} and {@code NIGHTSHIFT_ADMIN_PASSWORD} set as the page says and {@code http://127.0.0.1:8080} pointed at
 * that server. curl fails on any HTTP error ({@code --fail-with-body}) and the script stops at the first failing
 * command, so an example that does not work fails the test with its output. The pages that need the quickstart's
 * grid (a real agent running jobs) are pasted by {@code DocsQuickstartExamplesIT}.
 */
@NightshiftTest
class DocsExamplesTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @TempDir Path dir;

  @BeforeEach
  void fresh() {
    Db.reset(jdbc);
    CodeFixture.ensureRelease(port);
  }

  @Test
  void theApiPageExamplesWorkWhenPasted() throws Exception {
    String out = paste("docs/api.md");
    assertThat(out).contains("\"name\":\"geocode\"").contains("\"reasons\":[{\"kind\":").contains("openapi: 3.1.0");
  }

  @Test
  void theSecurityPageExamplesWorkWhenPasted() throws Exception {
    DocsPages.assumeTools("bash");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    String out =
        DocsPages.paste(
            "docs/security.md", "http://127.0.0.1:" + port, "export PATH=\"" + keytool.getParent() + ":$PATH\"\n",
            work(), Map.of());
    assertThat(work().resolve("server.p12")).isNotEmptyFile();
    assertThat(Files.readString(work().resolve("nightshift-ca.pem"))).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(out).contains("--- example 1");
  }

  /** A page that gains a {@code bash} block must be pasted by a test (or the block marked {@code sh}: a template). */
  @Test
  void everyBashExampleIsPasted() throws Exception {
    assertThat(DocsPages.pagesWithBashBlocks().keySet())
        .as("pages with ```bash blocks (examples a test pastes; mark templates ```sh) vs DocsPages.PASTED")
        .containsExactlyInAnyOrderElementsOf(DocsPages.PASTED.keySet());
  }

  private Path work() throws IOException {
    return Files.createDirectories(dir.resolve("work"));
  }

  private String paste(String page) throws Exception {
    DocsPages.assumeTools("bash", "curl", "jq");
    String preamble = "export NIGHTSHIFT_ADMIN_PASSWORD='" + Http.ADMIN_PASSWORD + "'\n"
        + "S=http://127.0.0.1:" + port + "\n"
        + "A=\"-u admin:$NIGHTSHIFT_ADMIN_PASSWORD\"\n";
    return DocsPages.paste(page, "http://127.0.0.1:" + port, preamble, work(), Map.of());
  }
}
