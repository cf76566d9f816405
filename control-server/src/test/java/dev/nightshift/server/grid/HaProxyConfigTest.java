package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.testing.HaProxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/haproxy/haproxy.cfg and the configuration ScaleOutIT generates: HAProxy itself accepts both ({@code haproxy
 * -c}, skipped with the reason where it is not installed), and both check the server's health endpoint, balance
 * every request, re-dispatch and wait longer than a claim's longest long poll (30 s).
 */
class HaProxyConfigTest {
  static final Path EXAMPLE = Path.of("..").toAbsolutePath().normalize().resolve("deploy/haproxy/haproxy.cfg");
  @TempDir Path dir;

  @Test
  void theExampleAndTheTestsConfigurationAgreeWithTheServer() throws Exception {
    String example = Files.readString(EXAMPLE);
    String generated = HaProxy.config(18080, List.of(18081, 18082, 18083));
    for (String cfg : List.of(example, generated)) {
      assertThat(cfg)
          .contains("option httpchk GET /actuator/health", "http-check expect status 200", "balance roundrobin",
              "option redispatch");
      Matcher server = Pattern.compile("timeout server (\\d+)s").matcher(cfg);
      assertThat(server.find()).isTrue();
      assertThat(Integer.parseInt(server.group(1))).as("longer than a claim's long poll").isGreaterThan(30);
    }
    Assumptions.assumeTrue(HaProxy.available(), "HAProxy is not installed (" + HaProxy.BINARY + "): apt-get install haproxy");
    Path written = dir.resolve("generated.cfg");
    Files.writeString(written, generated);
    for (Path cfg : List.of(EXAMPLE, written)) {
      Process p =
          new ProcessBuilder(HaProxy.BINARY.toString(), "-c", "-f", cfg.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor()).as(cfg + ": " + out).isZero();
      assertThat(out).as(cfg.toString()).contains("Configuration file is valid");
    }
  }
}
