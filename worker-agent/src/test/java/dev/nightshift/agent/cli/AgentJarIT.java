package dev.nightshift.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test of the built {@code nightshift-agent.jar} as a real process. */
class AgentJarIT {
  private static final Path JAR = Path.of("target", "nightshift-agent.jar");
  @TempDir Path data;

  private record Result(int code, String output) {}

  private static Result java(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", JAR.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Result(p.exitValue(), out);
  }

  @Test
  void theJarShowsHelpAndItsVersion() throws Exception {
    assertThat(Files.isRegularFile(JAR)).isTrue();

    Result help = java("run", "--help");
    assertThat(help.code()).as(help.output()).isZero();
    assertThat(help.output()).contains("--server=URL", "--slots=N", "NIGHTSHIFT_ENROLLMENT_TOKEN");

    Result version = java("version");
    assertThat(version.code()).isZero();
    assertThat(version.output()).matches("(?s)nightshift-agent \\d+\\.\\d+\\.\\d+.*").doesNotContain(" dev ");
  }

  @Test
  void jgitInTheJarLogsThroughJavaUtilLoggingWithoutSlf4jNoise() throws Exception {
    Path probe = Files.writeString(data.resolve("Probe.java"), """
        public class Probe {
          public static void main(String[] a) throws Exception {
            org.eclipse.jgit.lib.Repository r = new org.eclipse.jgit.storage.file.FileRepositoryBuilder()
                .setGitDir(new java.io.File(a[0])).setBare().build();
            r.create(true);
            System.out.println("logger: " + org.slf4j.LoggerFactory.getLogger(Probe.class).getClass().getName());
          }
        }
        """);
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", JAR.toString(), probe.toString(), data.resolve("repo.git").toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("logger: org.slf4j.jul.JDK14LoggerAdapter").doesNotContain("SLF4J");
  }

  @Test
  void theJarRefusesBadInputWithStatusTwo() throws Exception {
    Result bad = java("run", "--data-dir", data.toString(), "--slots", "0");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.output()).contains("invalid value '0' for --slots");
  }
}
