package dev.nightshift.server.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Try it" and the CLI and code pages, pasted as a new user does: against {@code ./quickstart.sh}
 * (the built jars, its embedded database, its local agent, on a free port instead of 8080), in the order a reader
 * meets them (README, then docs/cli.md, then docs/code.md), each page in a fresh directory that looks like the
 * checkout to the page ({@code .nightshift/credentials}, {@code nightshift-cli/}). The reader's environment is a
 * home directory of its own, git's author set, and the CLI pointed at the port ({@code NIGHTSHIFT_SERVER}); an
 * interactive shell's aliases. Every command must succeed (curl fails on HTTP errors), so an example that does not
 * work when pasted fails the test with its output. Needs bash, curl, git and jq (skipped with the reason otherwise).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DocsQuickstartExamplesIT {
  static final Path ROOT = DocsPages.root();
  @TempDir static Path dir;
  static Process quickstart;
  static Path home;
  static Path output;
  static int port;

  @BeforeAll
  static void startQuickstart() throws Exception {
    for (Path jar : List.of(ServerProcess.JAR, ROOT.resolve("worker-agent/target/nightshift-agent.jar"),
        ROOT.resolve("nightshift-cli/target/nightshift.jar"))) {
      assumeTrue(Files.isRegularFile(jar), "no " + jar + ": build the jars first (./mvnw -DskipTests package)");
    }
    DocsPages.assumeTools("bash", "curl", "git", "jq");
    home = Files.createDirectories(dir.resolve("state"));
    output = dir.resolve("quickstart.out");
    port = ServerProcess.freePort();
    ProcessBuilder pb = new ProcessBuilder("bash", ROOT.resolve("quickstart.sh").toString())
        .directory(ROOT.toFile()).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().put("NIGHTSHIFT_SKIP_BUILD", "1");
    pb.environment().put("SERVER_PORT", Integer.toString(port));
    pb.environment().put("NIGHTSHIFT_HOME", home.toString());
    quickstart = pb.start();
    Instant until = Instant.now().plus(Duration.ofMinutes(4));
    while (!Files.readString(output).contains("Press Ctrl-C to stop")) {
      assertThat(quickstart.isAlive()).as("quickstart is running:\n%s", Files.readString(output)).isTrue();
      assertThat(Instant.now()).as("quickstart's banner within 4 minutes:\n%s", Files.readString(output))
          .isBefore(until);
      Thread.sleep(250);
    }
    assertThat(Files.readString(output)).contains("examples/hello pushed and promoted");
  }

  @AfterAll
  static void stopQuickstart() throws Exception {
    if (quickstart != null) {
      quickstart.destroy(); // SIGTERM: quickstart stops its agent and server, as on Ctrl-C
      if (!quickstart.waitFor(60, TimeUnit.SECONDS)) {
        quickstart.destroyForcibly();
      }
    }
  }

  @Test
  @Order(1)
  void theReadmeTryItWorksWhenPasted() throws Exception {
    String out = paste("README.md");
    assertThat(out).contains("\"name\":\"hello\"").contains("\"version\":\"1.1.0\"");
  }

  @Test
  @Order(2)
  void theCliPageWorksWhenPasted() throws Exception {
    String out = paste("docs/cli.md");
    assertThat(out).contains("no such table").contains("1.2.0");
  }

  @Test
  @Order(3)
  void theCodePageWorksWhenPasted() throws Exception {
    String out = paste("docs/code.md");
    assertThat(out).contains("\"version\":\"1.3.0\"").contains("\"rollback\":true");
  }

  /** The page's examples in a fresh directory that is the checkout as far as the page can tell. */
  private String paste(String page) throws Exception {
    Path cwd = Files.createDirectories(dir.resolve("paste-" + page.replace('/', '-')));
    Files.createSymbolicLink(cwd.resolve(".nightshift"), home);
    Files.createSymbolicLink(cwd.resolve("nightshift-cli"), ROOT.resolve("nightshift-cli"));
    Files.createSymbolicLink(cwd.resolve("worker-agent"), ROOT.resolve("worker-agent"));
    Path userHome = Files.createDirectories(dir.resolve("home-" + page.replace('/', '-')));
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", userHome.toString());
    env.put("NIGHTSHIFT_SERVER", "http://127.0.0.1:" + port);
    env.put("GIT_AUTHOR_NAME", "Docs Reader");
    env.put("GIT_AUTHOR_EMAIL", "reader@example.com");
    env.put("GIT_COMMITTER_NAME", "Docs Reader");
    env.put("GIT_COMMITTER_EMAIL", "reader@example.com");
    env.put("GIT_TERMINAL_PROMPT", "0");
    String preamble = "shopt -s expand_aliases   # as in the interactive shell the reader pastes into\n";
    return DocsPages.paste(page, "http://127.0.0.1:" + port, preamble, cwd, env);
  }
}
