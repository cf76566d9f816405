package dev.nightshift.server.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The docs' examples, pasted. The convention (docs/testing.md): a {@code ```bash} block is an example a test pastes
 * into bash, in order with the page's other {@code bash} blocks; a {@code ```sh} block is a template (placeholders
 * such as a host name, a deployment step, a long benchmark) or a command CI runs itself ({@code ./mvnw verify}).
 * {@link #PASTED} names every page with {@code bash} blocks and the test that pastes it; a page that gains a
 * {@code bash} block without a test fails {@code DocsExamplesTest.everyBashExampleIsPasted}.
 */
final class DocsPages {
  static final Pattern BASH = Pattern.compile("(?ms)^```bash\\n(.*?)^```");

  /** Page → the test that pastes its {@code bash} blocks. */
  static final Map<String, String> PASTED =
      Map.of(
          "docs/api.md", "DocsExamplesTest",
          "docs/security.md", "DocsExamplesTest",
          "README.md", "DocsQuickstartExamplesIT",
          "docs/cli.md", "DocsQuickstartExamplesIT",
          "docs/code.md", "DocsQuickstartExamplesIT");

  private DocsPages() {}

  /** The project root: the module's parent. */
  static Path root() {
    return Path.of("..").toAbsolutePath().normalize();
  }

  static List<String> blocks(Path page) throws IOException {
    List<String> blocks = new ArrayList<>();
    Matcher m = BASH.matcher(Files.readString(page));
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }

  /** Every page of the project (README and docs/) with its number of {@code bash} blocks, where it has any. */
  static Map<String, Integer> pagesWithBashBlocks() throws IOException {
    Map<String, Integer> pages = new TreeMap<>();
    List<Path> files = new ArrayList<>(List.of(root().resolve("README.md")));
    try (Stream<Path> docs = Files.list(root().resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).forEach(files::add);
    }
    for (Path file : files) {
      int n = blocks(file).size();
      if (n > 0) {
        pages.put(root().relativize(file).toString(), n);
      }
    }
    return pages;
  }

  static void assumeTools(String... tools) {
    for (String tool : tools) {
      assumeTrue(
          Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/bin", tool)),
          tool + " is not installed: the docs' examples need it (the test is skipped, not passed)");
    }
  }

  /**
   * Runs the page's {@code bash} blocks in order, in one bash session in {@code dir}, after {@code preamble} (what
   * the page says the reader has set, and curl made to fail on HTTP errors); {@code http://127.0.0.1:8080} and
   * {@code http://localhost:8080} become {@code server}. Fails with the script and its output if any command fails.
   */
  static String paste(String page, String server, String preamble, Path dir, Map<String, String> env)
      throws Exception {
    List<String> blocks = blocks(root().resolve(page));
    assertThat(blocks).as("bash examples in " + page).isNotEmpty();
    StringBuilder script = new StringBuilder();
    script.append("set -euo pipefail\n")
        .append(preamble)
        // curl fails on HTTP errors (an example that already says -f keeps it: the two cannot be combined)
        .append("curl() {\n  local a\n  for a in \"$@\"; do\n    case \"$a\" in\n")
        .append("      --fail|--fail-with-body) command curl -sS \"$@\"; return ;;\n")
        .append("      --*) ;;\n      -*f*) command curl -sS \"$@\"; return ;;\n    esac\n  done\n")
        .append("  command curl --fail-with-body -sS \"$@\"\n}\n");
    for (int i = 0; i < blocks.size(); i++) {
      script.append("echo \"--- example ").append(i + 1).append(" ($(date +%T))\"\n")
          .append(blocks.get(i)
              .replace("http://127.0.0.1:8080", server)
              .replace("http://localhost:8080", server)
              .replace("127.0.0.1:8080", server.replaceFirst("^https?://", "")))
          .append('\n');
    }
    Path sh = Files.createTempFile(dir.getParent(), "examples", ".sh");
    Files.writeString(sh, script);
    ProcessBuilder pb = new ProcessBuilder("bash", sh.toString()).directory(dir.toFile()).redirectErrorStream(true);
    // the reader's own settings never leak in from the machine that runs the test
    pb.environment().keySet().removeIf(k -> k.startsWith("NIGHTSHIFT_"));
    pb.environment().putAll(env);
    Path out = Files.createTempFile(dir.getParent(), "examples", ".out");
    pb.redirectOutput(out.toFile());
    Process p = pb.start();
    boolean ended = p.waitFor(300, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly().waitFor();
    }
    String text = Files.readString(out, StandardCharsets.UTF_8);
    assertThat(ended).as("the examples of %s finish within 5 minutes; output so far:\n%s", page, text).isTrue();
    assertThat(p.exitValue()).as("the examples of %s, pasted:\n%s\n--- output:\n%s", page, script, text).isZero();
    return text;
  }
}
