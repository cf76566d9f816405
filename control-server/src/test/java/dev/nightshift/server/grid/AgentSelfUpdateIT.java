package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Self-update end to end with two builds of the real agent (the built jar with its Implementation-Version rewritten
 * to 1.0-A and 1.0-B) and a real server serving B: an agent started through its launcher as A runs a job; the
 * rollout goes from HOLD to ALL mid-job, the agent downloads B, finishes its batches, restarts into it, and the job
 * ends with every batch run exactly once. Then the server serves a broken build (a jar that exits at once): the
 * launcher tries it, rolls back to B, and the agent reports the version refused, which the server stops offering.
 */
class AgentSelfUpdateIT {
  @TempDir static Path dir;
  static ServerProcess server;
  static Path served;

  @BeforeAll
  static void startServer() throws Exception {
    served = dir.resolve("served/nightshift-agent.jar");
    Files.createDirectories(served.getParent());
    withVersion(AgentProcess.JAR, dir.resolve("B.jar"), "1.0-B", null);
    Files.copy(dir.resolve("B.jar"), served);
    server =
        ServerProcess.start(
            dir.resolve("server"),
            Map.of(
                "NIGHTSHIFT_LEASE_HEARTBEAT_INTERVAL", "2s",
                "NIGHTSHIFT_RETRY_INITIAL_BACKOFF", "1s",
                "NIGHTSHIFT_INSTALL_AGENT_JAR", served.toString()),
            List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anAgentUpdatesMidJobWithoutLosingABatchAndRollsABrokenUpdateBack() throws Exception {
    Http admin = server.admin();
    assertThat(rollout(admin, "{\"mode\": \"HOLD\"}").get("agentVersion").asString()).isEqualTo("1.0-B");
    Path a = dir.resolve("A.jar");
    withVersion(AgentProcess.JAR, a, "1.0-A", null);
    Path data = dir.resolve("agent");
    Path markers = Files.createDirectories(dir.resolve("markers"));
    Map<String, Object> job = new HashMap<>();
    job.put("name", "across-an-update");
    job.put("command", "read n; echo ran >> '" + markers + "'/$n; sleep 1; echo $n");
    job.put("batchSize", 1);
    job.put("items", IntStream.rangeClosed(1, 30).boxed().toList());
    long jobId = Jobs.submit(admin, job);

    Process agent = launch(a, data, dir.resolve("agent.log"));
    try {
      await().atMost(Duration.ofSeconds(90)).until(() -> markerCount(markers) >= 6);
      JsonNode worker = server.workerNamed("updater");
      assertThat(worker.get("agentVersion").asString()).isEqualTo("1.0-A");
      assertThat(Jobs.get(admin, jobId).get("state").asString()).isEqualTo("RUNNING");

      rollout(admin, "{\"mode\": \"ALL\"}");
      await()
          .atMost(Duration.ofSeconds(90))
          .until(() -> "1.0-B".equals(server.workerNamed("updater").get("agentVersion").asString()));
      assertThat(launcherState(data).getProperty("current")).isEqualTo("1.0-B");
      assertThat(Jobs.get(admin, jobId).get("state").asString())
          .as("updated mid-job")
          .isIn("RUNNING", "QUEUED");
      await()
          .atMost(Duration.ofSeconds(120))
          .until(() -> Jobs.get(admin, jobId).get("state").asString().equals("SUCCEEDED"));
      assertThat(launcherState(data).getProperty("previous")).isEqualTo("1.0-A");
      assertThat(launcherState(data).getProperty("trial")).isEqualTo("false");

      // no batch lost, none run twice
      assertThat(admin.get("/api/v1/jobs/" + jobId + "/results").body().lines().map(Integer::valueOf).sorted())
          .containsExactlyElementsOf(IntStream.rangeClosed(1, 30).boxed().toList());
      try (Stream<Path> files = Files.list(markers)) {
        assertThat(files.map(AgentSelfUpdateIT::lines))
            .hasSize(30)
            .allMatch(n -> n == 1, "each item run once");
      }
      assertThat(Files.readString(dir.resolve("agent.log")))
          .contains("agent 1.0-B staged")
          .contains("launcher: agent 1.0-B heartbeats; it stays");

      // a broken build: tried, rolled back to B, refused and no longer offered
      withVersion(AgentProcess.JAR, dir.resolve("broken.jar"), "1.0-B2", "dev.nightshift.NoSuchMain");
      Path tmp = served.resolveSibling("next.tmp");
      Files.copy(dir.resolve("broken.jar"), tmp);
      Files.move(tmp, served, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      await()
          .atMost(Duration.ofSeconds(120))
          .until(() -> "1.0-B2".equals(text(server.workerNamed("updater").get("agentRefused"))));
      JsonNode after = server.workerNamed("updater");
      assertThat(after.get("agentVersion").asString()).isEqualTo("1.0-B");
      assertThat(launcherState(data).getProperty("current")).isEqualTo("1.0-B");
      assertThat(Files.readString(dir.resolve("agent.log"))).contains("agent 1.0-B2 failed its trial");

      // B keeps working, and is not sent to B2 again
      Map<String, Object> more = new HashMap<>(job);
      more.put("name", "after-the-rollback");
      more.put("command", "read n; echo $n");
      long second = Jobs.submit(admin, more);
      await()
          .atMost(Duration.ofSeconds(90))
          .until(() -> Jobs.get(admin, second).get("state").asString().equals("SUCCEEDED"));
      assertThat(agent.isAlive()).isTrue();
      assertThat(Files.readString(dir.resolve("agent.log")).split("starting agent 1.0-B2", -1))
          .as("B2 tried once")
          .hasSize(2);
    } finally {
      agent.destroy();
      if (!agent.waitFor(60, TimeUnit.SECONDS)) {
        agent.destroyForcibly().waitFor();
      }
    }
    assertThat(Files.readString(dir.resolve("agent.log"))).contains("stopped");
  }

  private static JsonNode rollout(Http admin, String body) {
    Http.Response r = admin.send("PUT", "/api/v1/agent-rollout", body);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.json();
  }

  /** {@code java -jar JAR launch --data DATA -- run ...}, as the install script's service does. */
  private static Process launch(Path jar, Path data, Path log) throws IOException {
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m", "-jar", jar.toString(),
            "launch", "--data", data.toString(), "--",
            "run", "--server", server.url(), "--enrollment-token", Http.ENROLLMENT_TOKEN, "--data-dir",
            data.toString(), "--slots", "2", "--name", "updater",
            "--allow-unsigned"); // the job is a raw command on unsigned code (docs/security.md#signed-releases)
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("NIGHTSHIFT_"));
    pb.environment().remove("DISPLAY");
    pb.environment().remove("WAYLAND_DISPLAY");
    pb.environment().remove("XDG_SESSION_TYPE");
    pb.environment().put("NIGHTSHIFT_LAUNCHER_TRIAL_SECONDS", "60");
    return pb.start();
  }

  /**
   * A copy of the agent jar with another Implementation-Version (what the agent and the server take as its
   * version), and another Main-Class when {@code mainClass} is given (a build that cannot start).
   */
  static void withVersion(Path source, Path target, String version, String mainClass) throws IOException {
    try (JarFile in = new JarFile(source.toFile())) {
      Manifest manifest = new Manifest(in.getManifest());
      manifest.getMainAttributes().put(Attributes.Name.IMPLEMENTATION_VERSION, version);
      if (mainClass != null) {
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, mainClass);
      }
      try (OutputStream file = Files.newOutputStream(target);
          JarOutputStream out = new JarOutputStream(file, manifest)) {
        var entries = in.entries();
        while (entries.hasMoreElements()) {
          JarEntry e = entries.nextElement();
          if (e.getName().equalsIgnoreCase(JarFile.MANIFEST_NAME) || e.getName().equalsIgnoreCase("META-INF/")) {
            continue;
          }
          out.putNextEntry(new JarEntry(e.getName()));
          try (InputStream bytes = in.getInputStream(e)) {
            bytes.transferTo(out);
          }
          out.closeEntry();
        }
      }
    }
  }

  private static Properties launcherState(Path data) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(data.resolve("agent/launcher.properties"))) {
      p.load(in);
    }
    return p;
  }

  private static long markerCount(Path markers) throws IOException {
    try (Stream<Path> files = Files.list(markers)) {
      return files.count();
    }
  }

  private static long lines(Path file) {
    try {
      return Files.readAllLines(file).size();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String text(JsonNode node) {
    return node == null || node.isNull() ? null : node.asString();
  }
}
