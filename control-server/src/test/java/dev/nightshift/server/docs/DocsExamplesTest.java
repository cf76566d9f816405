package dev.nightshift.server.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.NightshiftTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The examples of a docs page, pasted: every {@code bash} block of the page, in order, in one bash session against a
 * real server (the test server over HTTP), with {@code S}, {@code A} and {@code NIGHTSHIFT_ADMIN_PASSWORD} set as
 * the page says and {@code http://127.0.0.1:8080} pointed at that server. curl fails on any HTTP error
 * ({@code --fail-with-body}) and the script stops at the first failing command, so an example that does not work
 * fails the test with its output.
 */
@NightshiftTest
class DocsExamplesTest {
  private static final Pattern BASH = Pattern.compile("(?ms)^```bash\\n(.*?)^```");
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

  /** Blocks of a page, found relative to the project root (the module's parent). */
  static List<String> blocks(Path page) throws IOException {
    List<String> blocks = new ArrayList<>();
    Matcher m = BASH.matcher(Files.readString(page));
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }

  private String paste(String page) throws Exception {
    for (String tool : List.of("bash", "curl", "jq")) {
      assumeTrue(
          Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/bin", tool)),
          tool + " is not installed: the docs' examples need it (the test is skipped, not passed)");
    }
    Path file = Path.of("..").resolve(page).toAbsolutePath().normalize();
    List<String> blocks = blocks(file);
    assertThat(blocks).as("bash examples in " + page).isNotEmpty();
    String server = "http://127.0.0.1:" + port;
    StringBuilder script = new StringBuilder();
    script.append("set -euo pipefail\n")
        .append("export NIGHTSHIFT_ADMIN_PASSWORD='").append(Http.ADMIN_PASSWORD).append("'\n")
        .append("S=").append(server).append('\n')
        .append("A=\"-u admin:$NIGHTSHIFT_ADMIN_PASSWORD\"\n")
        // curl fails on HTTP errors (an example that already says -f keeps it: the two cannot be combined)
        .append("curl() {\n  local a\n  for a in \"$@\"; do\n    case \"$a\" in\n")
        .append("      --fail|--fail-with-body) command curl -sS \"$@\"; return ;;\n")
        .append("      --*) ;;\n      -*f*) command curl -sS \"$@\"; return ;;\n    esac\n  done\n")
        .append("  command curl --fail-with-body -sS \"$@\"\n}\n");
    for (int i = 0; i < blocks.size(); i++) {
      script.append("echo '--- example ").append(i + 1).append("'\n")
          .append(blocks.get(i).replace("http://127.0.0.1:8080", server)).append('\n');
    }
    Path sh = dir.resolve("examples.sh");
    Files.writeString(sh, script);
    Process p =
        new ProcessBuilder("bash", sh.toString()).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] output;
    try (var in = p.getInputStream()) {
      output = in.readAllBytes();
    }
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("the examples finish").isTrue();
    String text = new String(output, StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("the examples of %s, pasted:\n%s\n--- output:\n%s", page, script, text).isZero();
    return text;
  }
}
