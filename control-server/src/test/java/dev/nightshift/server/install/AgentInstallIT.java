package dev.nightshift.server.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The install script as an admin runs it, against a real server: {@code curl -fsSL SERVER/install/agent.sh | sh -s
 * -- --token T --prefix P --no-service}, then the files it wrote, the systemd unit it generated (verified by
 * {@code systemd-analyze} where installed), the installed launcher starting an agent that enrolls, heartbeats and
 * runs a job, reading the idle seconds the host companion wrote, and {@code --uninstall}. Bad inputs tried, each
 * ending non-zero with a message and nothing installed: a wrong token, no token, an unreachable server, a jar whose
 * SHA-256 does not match. On Linux x64, a machine without Java ({@code PATH} without one): the script installs the
 * server's jlink runtime bundle and the agent runs a job on it; there, a bundle whose SHA-256 does not match, a
 * server without a bundle, and {@code --java} with {@code --bundled-java} are refused.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentInstallIT {
  @TempDir static Path dir;
  static ServerProcess server;
  static Path prefix;
  static Path hostIdleFile;
  static Result install;

  @BeforeAll
  static void startServerAndInstall() throws Exception {
    server = ServerProcess.start(dir.resolve("server"), ServerProcess.fastLeases(), List.of("-Xmx384m"));
    CodeFixture.ensureRelease(server.port);
    prefix = dir.resolve("installed");
    hostIdleFile = dir.resolve("shared/nightshift-idle");
    Files.createDirectories(hostIdleFile.getParent());
    install = curlPipeSh("--token", Http.ENROLLMENT_TOKEN, "--prefix", prefix.toString(), "--no-service",
        "--name", "installed-agent", "--slots", "2", "--label", "site=lab", "--idle-policy", "desktop",
        "--host-idle-file", hostIdleFile.toString(), "--java", java(), "--allow-unsigned");
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  @Order(1)
  void theScriptInstallsTheServersAgentWithItsSettingsAndTheTokenReadableOnlyByItsUser() throws Exception {
    assertThat(install.exitCode).as(install.output).isZero();
    assertThat(install.output).contains("Installed nightshift-agent", prefix.toString());

    byte[] jar = Files.readAllBytes(prefix.resolve("lib/nightshift-agent.jar"));
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(jar));
    JsonNode manifest = Http.anonymous(server.port).get("/install/manifest.json").json();
    assertThat(sha).isEqualTo(manifest.get("agent").get("sha256").asString());
    assertThat(jar).as("the agent this build made").isEqualTo(Files.readAllBytes(AgentProcess.JAR));

    Path settings = prefix.resolve("etc/agent.properties");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(settings))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(prefix.resolve("data"))))
        .isEqualTo("rwx------");
    assertThat(Files.readAllLines(settings)).contains(
        "server=" + server.url(), "enrollment-token=" + Http.ENROLLMENT_TOKEN, "data-dir=" + prefix.resolve("data"),
        "name=installed-agent", "slots=2", "labels=site=lab", "idle-policy=desktop",
        "host-idle-file=" + hostIdleFile, "allow-unsigned=true"); // the job below runs the unsigned fixture
    Path launcher = prefix.resolve("bin/nightshift-agent");
    assertThat(Files.isExecutable(launcher)).isTrue();
    assertThat(Files.readString(launcher)).doesNotContain(Http.ENROLLMENT_TOKEN);

    Map<String, String> unit = DeployFilesTest.unit(prefix.resolve("etc/nightshift-agent.service"));
    assertThat(unit.get("ExecStart")).isEqualTo(launcher + " launch --data " + prefix.resolve("data") + " -- run");
    assertThat(Files.readString(prefix.resolve("etc/nightshift-agent.service"))).doesNotContain(Http.ENROLLMENT_TOKEN);
    if (isRoot()) {
      assertThat(unit).containsEntry("User", "nightshift").containsEntry("ReadWritePaths", prefix.resolve("data").toString());
    } else {
      assertThat(unit).containsEntry("WantedBy", "default.target").doesNotContainKey("User");
    }
  }

  @Test
  @Order(2)
  void theGeneratedUnitPassesSystemdAnalyzeVerify() throws Exception {
    assumeTrue(DeployFilesTest.has("systemd-analyze"), "systemd-analyze is not installed here: unit text checked only");
    Result r = run(List.of("systemd-analyze", "verify", prefix.resolve("etc/nightshift-agent.service").toString()),
        Map.of());
    assertThat(r.exitCode).as(r.output).isZero();
  }

  @Test
  @Order(3)
  void theInstalledAgentEnrollsRunsAJobAndReadsTheHostCompanionsFile() throws Exception {
    // the host companion, installed by the same script, writing what a fake xprintidle says (an hour idle)
    Path companionPrefix = dir.resolve("host");
    Result companion = curlPipeSh("--host-companion", hostIdleFile.toString(), "--prefix",
        companionPrefix.toString(), "--no-service");
    assertThat(companion.exitCode).as(companion.output).isZero();
    Path fakeBin = Files.createDirectories(dir.resolve("fake-bin"));
    Files.writeString(fakeBin.resolve("xprintidle"), "#!/bin/sh\necho 3600000\n");
    fakeBin.resolve("xprintidle").toFile().setExecutable(true);
    Result wrote = run(List.of("sh", companionPrefix.resolve("bin/nightshift-host-idle").toString(), "--once",
        hostIdleFile.toString()), Map.of("PATH", fakeBin + ":" + System.getenv("PATH"), "DISPLAY", ":99",
        "NIGHTSHIFT_HOST_IDLE_STATE", dir.resolve("host-state").toString()));
    assertThat(wrote.exitCode).as(wrote.output).isZero();
    assertThat(Files.readString(hostIdleFile)).matches("3600 locked=\\w+ source=xprintidle at=\\S+Z\n");

    // the job first, with the idle policy 'always' (flags beat the settings file): the build machine's load would
    // make 'desktop' wait
    Process agent = startInstalled("installed-agent.log", "--idle-policy", "always");
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).failFast(() -> !agent.isAlive())
          .until(() -> server.workerNamed("installed-agent") != null);
      JsonNode worker = server.workerNamed("installed-agent");
      assertThat(worker.get("slots").asInt()).isEqualTo(2);
      assertThat(worker.get("labels").get("site").asString()).isEqualTo("lab");

      long jobId = Jobs.submit(server.admin(), Jobs.range("installed", "cat", 4, 1));
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).failFast(() -> !agent.isAlive())
          .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
      assertThat(Files.readString(prefix.resolve("data/identity.json"))).as("kept in the installed data dir")
          .contains(worker.get("id").asString());
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nagent log:\n" + Files.readString(dir.resolve("installed-agent.log")), e);
    } finally {
      agent.destroy();
      agent.waitFor(20, TimeUnit.SECONDS);
    }

    // then as installed ('desktop', reading the host file): its status shows the companion's reading
    Process desktop = startInstalled("installed-agent-desktop.log");
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).failFast(() -> !desktop.isAlive())
          .until(() -> run(List.of(prefix.resolve("bin/nightshift-agent").toString(), "status"), Map.of()).output
              .contains("host signal " + hostIdleFile + ": host user idle 60 min"));
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nstatus:\n"
          + run(List.of(prefix.resolve("bin/nightshift-agent").toString(), "status"), Map.of()).output
          + "\nagent log:\n" + Files.readString(dir.resolve("installed-agent-desktop.log")), e);
    } finally {
      desktop.destroy();
      desktop.waitFor(20, TimeUnit.SECONDS);
    }

    // the owner's pause on the host: the file says 0 s idle (in use) until resumed
    Result paused = run(List.of("sh", companionPrefix.resolve("bin/nightshift-host-idle").toString(), "--pause", "2h",
        hostIdleFile.toString()), Map.of("NIGHTSHIFT_HOST_IDLE_STATE", dir.resolve("host-state").toString()));
    assertThat(paused.exitCode).as(paused.output).isZero();
    assertThat(Files.readString(hostIdleFile)).startsWith("0 paused-by-owner-until=");
  }

  @Test
  @Order(4)
  void theKubernetesProbesAndTheComposeHealthCheckAskPathsTheServerAnswers() throws IOException {
    for (String path : DeployFilesTest.probePaths()) {
      assertThat(Http.anonymous(server.port).get(path).status()).as(path).isEqualTo(200);
    }
  }

  @Test
  @Order(5)
  void badInputsEndNonZeroWithAMessageAndInstallNothing() throws Exception {
    Path tmp = Files.createDirectories(dir.resolve("script-tmp"));
    Path target = dir.resolve("not-installed");

    Result wrongToken = curlPipeSh(tmp, "--token", "nse_wrong", "--prefix", target.toString(), "--no-service");
    assertThat(wrongToken.exitCode).isNotZero();
    assertThat(wrongToken.output).contains("the server refused the enrollment token",
        "unknown, expired, used up or revoked", "Nothing was installed");

    Result noToken = curlPipeSh(tmp, "--prefix", target.toString(), "--no-service");
    assertThat(noToken.exitCode).isEqualTo(2);
    assertThat(noToken.output).contains("an enrollment token is needed");

    Path script = dir.resolve("agent.sh");
    Files.writeString(script, Http.anonymous(server.port).get("/install/agent.sh").body());
    Result unreachable = run(List.of("sh", script.toString(), "--token", Http.ENROLLMENT_TOKEN, "--server",
        "http://127.0.0.1:" + ServerProcess.freePort(), "--prefix", target.toString(), "--no-service"),
        Map.of("TMPDIR", tmp.toString()));
    assertThat(unreachable.exitCode).isNotZero();
    assertThat(unreachable.output).contains("cannot reach the server at http://127.0.0.1:", "Nothing was installed");

    // a server (or proxy) handing out a jar that is not the one its sum names
    HttpServer tampering = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String realSum = Http.anonymous(server.port).get("/install/nightshift-agent.jar.sha256").body();
    tampering.createContext("/install/enrollment-check", x -> {
      x.sendResponseHeaders(204, -1);
      x.close();
    });
    tampering.createContext("/install/nightshift-agent.jar.sha256", x -> send(x, realSum.getBytes()));
    tampering.createContext("/install/nightshift-agent.jar", x -> send(x, "not the agent".getBytes()));
    tampering.start();
    try {
      Result mismatch = run(List.of("sh", script.toString(), "--token", Http.ENROLLMENT_TOKEN, "--server",
          "http://127.0.0.1:" + tampering.getAddress().getPort(), "--prefix", target.toString(), "--no-service"),
          Map.of("TMPDIR", tmp.toString()));
      assertThat(mismatch.exitCode).isNotZero();
      assertThat(mismatch.output).contains("the downloaded agent's SHA-256 is", "but the server says "
          + realSum.split(" ")[0], "Nothing was installed");
    } finally {
      tampering.stop(0);
    }

    assertThat(target).doesNotExist();
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left).as("no staging directory left behind").isEmpty();
    }
  }

  @Test
  @Order(6)
  void uninstallRemovesWhatItInstalled() throws Exception {
    Result r = curlPipeSh("--uninstall", "--prefix", prefix.toString());
    assertThat(r.exitCode).as(r.output).isZero();
    assertThat(r.output).contains("Removed " + prefix);
    assertThat(prefix).doesNotExist();
    Path foreign = Files.createDirectories(dir.resolve("not-ours"));
    Result refused = curlPipeSh("--uninstall", "--prefix", foreign.toString());
    assertThat(refused.exitCode).isNotZero();
    assertThat(refused.output).contains("was not installed by this script");
    assertThat(foreign).exists();
  }

  @Test
  @Order(7)
  void aMachineWithoutJavaGetsTheServersRuntimeBundleAndRunsAJobOnIt() throws Exception {
    boolean linuxX64 = System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64");
    assumeTrue(linuxX64, "the runtime bundle is built and installed on Linux x64 only, not on "
        + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    Http anonymous = Http.anonymous(server.port);
    Http.Response sum = anonymous.get("/install/" + AgentDownload.RUNTIME + ".sha256");
    assertThat(sum.status()).as("the build makes the bundle on Linux x64 (was it built with -DskipAgentRuntime?): "
        + sum.body()).isEqualTo(200);
    Map<String, String> noJava = Map.of("PATH", pathWithoutJava().toString());
    assertThat(run(List.of("sh", "-c", "command -v java || echo none"), noJava).output.trim())
        .as("the PATH this test installs with").isEqualTo("none");

    Path bundled = dir.resolve("bundled");
    List<String> command = new ArrayList<>(List.of("sh", "-c",
        "curl -fsSL \"$0\"/install/agent.sh | sh -s -- \"$@\"", server.url(), "--token", Http.ENROLLMENT_TOKEN,
        "--prefix", bundled.toString(), "--no-service", "--name", "bundled-agent", "--allow-unsigned"));
    Result installed = run(command, noJava);
    assertThat(installed.exitCode).as(installed.output).isZero();
    assertThat(installed.output).contains("No java found: installing the server's Java runtime bundle");
    Path java = bundled.resolve("runtime/bin/java");
    assertThat(Files.isExecutable(java)).isTrue();
    assertThat(Files.readString(bundled.resolve("bin/nightshift-agent"))).contains("exec " + java + " ");
    assertThat(Files.readString(bundled.resolve("runtime/bundle.sha256"))).startsWith(sum.body().split(" ")[0]);

    ProcessBuilder pb = new ProcessBuilder(bundled.resolve("bin/nightshift-agent").toString(), "run",
        "--idle-policy", "always").redirectErrorStream(true).redirectOutput(dir.resolve("bundled-agent.log").toFile());
    clean(pb.environment());
    pb.environment().putAll(noJava);
    pb.environment().put("NIGHTSHIFT_JAVA_OPTS", "-Xmx96m");
    Process agent = pb.start();
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).failFast(() -> !agent.isAlive())
          .until(() -> server.workerNamed("bundled-agent") != null);
      assertThat(agent.info().command()).as("the agent's own process runs on the bundle").hasValue(java.toRealPath().toString());
      long jobId = Jobs.submit(server.admin(), Jobs.range("bundled", "cat", 3, 1));
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).failFast(() -> !agent.isAlive())
          .until(() -> Jobs.get(server.admin(), jobId).get("state").asString().equals("SUCCEEDED"));
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nagent log:\n" + Files.readString(dir.resolve("bundled-agent.log")), e);
    } finally {
      agent.destroy();
      agent.waitFor(20, TimeUnit.SECONDS);
    }

    // bad inputs: asking for the bundle with --java too; a server whose bundle is not what its sum says; a server
    // without one (each ends non-zero, says what to do, and installs nothing)
    Path script = dir.resolve("agent-bundle.sh");
    Files.writeString(script, anonymous.get("/install/agent.sh").body());
    Path target = dir.resolve("bundle-not-installed");
    Result both = run(List.of("sh", script.toString(), "--token", Http.ENROLLMENT_TOKEN, "--bundled-java", "--java",
        java(), "--prefix", target.toString(), "--no-service"), Map.of());
    assertThat(both.exitCode).as(both.output).isEqualTo(2);
    assertThat(both.output).contains("--java and --bundled-java say different things");

    byte[] jar = Files.readAllBytes(AgentProcess.JAR);
    String jarSum = anonymous.get("/install/nightshift-agent.jar.sha256").body();
    for (boolean hasBundle : List.of(true, false)) {
      HttpServer fake = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      fake.createContext("/install/enrollment-check", x -> {
        x.sendResponseHeaders(204, -1);
        x.close();
      });
      fake.createContext("/install/nightshift-agent.jar.sha256", x -> send(x, jarSum.getBytes()));
      fake.createContext("/install/nightshift-agent.jar", x -> send(x, jar));
      fake.createContext("/install/" + AgentDownload.RUNTIME, x -> {
        if (!hasBundle) {
          byte[] problem = "{\"detail\":\"this server has no agent runtime bundle\"}".getBytes();
          x.sendResponseHeaders(404, problem.length);
          x.getResponseBody().write(problem);
          x.close();
        } else if (x.getRequestURI().getPath().endsWith(".sha256")) {
          send(x, sum.body().getBytes());
        } else {
          send(x, "not the runtime".getBytes());
        }
      });
      fake.start();
      try {
        Result r = run(List.of("sh", script.toString(), "--token", Http.ENROLLMENT_TOKEN, "--server",
            "http://127.0.0.1:" + fake.getAddress().getPort(), "--prefix", target.toString(), "--no-service"), noJava);
        assertThat(r.exitCode).as(r.output).isNotZero();
        assertThat(r.output).contains(hasBundle
            ? "the downloaded runtime bundle's SHA-256 is"
            : "no Java 17 here, and the server has no runtime bundle: this server has no agent runtime bundle");
        assertThat(r.output).contains("Nothing was installed");
      } finally {
        fake.stop(0);
      }
    }
    assertThat(target).doesNotExist();
  }

  /**
   * A directory of links to every program on this PATH except Java's (java, and anything inside a JDK): a desktop
   * without Java, as far as the install script and the agent can tell.
   */
  private static Path pathWithoutJava() throws IOException {
    Path bin = dir.resolve("path-without-java");
    if (Files.isDirectory(bin)) {
      return bin;
    }
    Files.createDirectories(bin);
    for (String entry : System.getenv("PATH").split(java.io.File.pathSeparator)) {
      Path d = Path.of(entry);
      if (!Files.isDirectory(d) || d.toRealPath().toString().contains("/jvm/")) {
        continue;
      }
      try (Stream<Path> programs = Files.list(d)) {
        for (Path p : (Iterable<Path>) programs::iterator) {
          String name = p.getFileName().toString();
          if (Files.exists(bin.resolve(name)) || !Files.isExecutable(p) || Files.isDirectory(p)) {
            continue;
          }
          Path real = p.toRealPath();
          if (name.equals("java") || real.toString().contains("/jvm/")) {
            continue;
          }
          Files.createSymbolicLink(bin.resolve(name), real);
        }
      }
    }
    return bin;
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  record Result(int exitCode, String output) {}

  /** {@code curl -fsSL SERVER/install/agent.sh | sh -s -- ARGS}, as the docs say. */
  static Result curlPipeSh(String... args) throws Exception {
    return curlPipeSh(null, args);
  }

  static Result curlPipeSh(Path tmp, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("sh", "-c",
        "curl -fsSL \"$0\"/install/agent.sh | sh -s -- \"$@\"", server.url()));
    command.addAll(List.of(args));
    return run(command, tmp == null ? Map.of() : Map.of("TMPDIR", tmp.toString()));
  }

  static Result run(List<String> command, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    clean(pb.environment());
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(command + " did not end within 120 s:\n" + out);
    }
    return new Result(p.exitValue(), out);
  }

  /** No settings of the build's own environment, and no graphical session. */
  private static void clean(Map<String, String> env) {
    env.keySet().removeIf(k -> k.startsWith("NIGHTSHIFT_"));
    env.remove("DISPLAY");
    env.remove("WAYLAND_DISPLAY");
    env.remove("XDG_SESSION_TYPE");
  }

  private static void send(com.sun.net.httpserver.HttpExchange x, byte[] body) throws IOException {
    x.sendResponseHeaders(200, body.length);
    x.getResponseBody().write(body);
    x.close();
  }

  /** The installed launcher, {@code run ARGS}, with the build's environment cleaned. */
  private static Process startInstalled(String logName, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(prefix.resolve("bin/nightshift-agent").toString(), "run"));
    command.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile());
    clean(pb.environment());
    pb.environment().put("NIGHTSHIFT_JAVA_OPTS", "-Xmx96m");
    return pb.start();
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static boolean isRoot() throws Exception {
    return run(List.of("id", "-u"), Map.of()).output.trim().equals("0");
  }
}
