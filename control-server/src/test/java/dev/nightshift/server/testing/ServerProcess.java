package dev.nightshift.server.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The built server jar running as a real process, on a fresh test database unless told otherwise. */
public final class ServerProcess implements AutoCloseable {
  public static final Path JAR = Path.of("target/nightshift-server.jar").toAbsolutePath();
  public static final Path EMBEDDED_DB = Path.of("target/embedded-db").toAbsolutePath();
  private final Process process;
  public final int port;
  public final Path log;
  public final Path dataDir;

  /** Set when the server speaks HTTPS: a client trusting its certificate. */
  private final java.net.http.HttpClient tls;

  /** How it was started, for {@link #restart}. */
  private Path dir;
  private Map<String, String> startEnv;
  private List<String> startJvmArgs;

  private ServerProcess(Process process, int port, Path log, Path dataDir, java.net.http.HttpClient tls) {
    this.process = process;
    this.port = port;
    this.log = log;
    this.dataDir = dataDir;
    this.tls = tls;
  }

  /**
   * Starts on a fresh database with HTTPS (the {@code SERVER_SSL_*} settings are in {@code extraEnv}); health is
   * checked with a client trusting {@code trust}.
   */
  public static ServerProcess startTls(
      Path dir, Map<String, String> extraEnv, List<String> jvmArgs, javax.net.ssl.SSLContext trust)
      throws IOException {
    String[] db = TestDatabase.fresh();
    Map<String, String> env = new LinkedHashMap<>(extraEnv);
    env.put("SPRING_DATASOURCE_URL", db[0]);
    env.put("SPRING_DATASOURCE_USERNAME", db[1]);
    env.put("SPRING_DATASOURCE_PASSWORD", db[2]);
    return startRaw(
        dir, env, jvmArgs, java.net.http.HttpClient.newBuilder().sslContext(trust).build());
  }

  /** Settings for fast tests: short leases and back-offs. */
  public static Map<String, String> fastLeases() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("NIGHTSHIFT_LEASE_DURATION", "8s");
    env.put("NIGHTSHIFT_LEASE_HEARTBEAT_INTERVAL", "2s");
    env.put("NIGHTSHIFT_LEASE_CLAIM_GRACE", "5s");
    env.put("NIGHTSHIFT_LEASE_REAP_INTERVAL", "1s");
    env.put("NIGHTSHIFT_RETRY_INITIAL_BACKOFF", "1s");
    return env;
  }

  /** Starts on a fresh database of the test server. */
  public static ServerProcess start(Path dir, Map<String, String> extraEnv, List<String> jvmArgs) throws IOException {
    String[] db = TestDatabase.fresh();
    Map<String, String> env = new LinkedHashMap<>(extraEnv);
    env.put("SPRING_DATASOURCE_URL", db[0]);
    env.put("SPRING_DATASOURCE_USERNAME", db[1]);
    env.put("SPRING_DATASOURCE_PASSWORD", db[2]);
    return startRaw(dir, env, jvmArgs);
  }

  /** Starts with exactly the given environment (plus admin password, enrollment token, port, data dir). */
  public static ServerProcess startRaw(Path dir, Map<String, String> extraEnv, List<String> jvmArgs)
      throws IOException {
    return startRaw(dir, extraEnv, jvmArgs, null);
  }

  private static ServerProcess startRaw(
      Path dir, Map<String, String> extraEnv, List<String> jvmArgs, java.net.http.HttpClient tls)
      throws IOException {
    Files.createDirectories(dir);
    // SERVER_PORT in extraEnv: that port (an instance behind a load balancer keeps its address across restarts)
    int port = extraEnv.containsKey("SERVER_PORT") ? Integer.parseInt(extraEnv.get("SERVER_PORT")) : freePort();
    Path log = dir.resolve("server.log");
    Path data = dir.resolve("server-data");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmArgs);
    command.add("-jar");
    command.add(JAR.toString());
    ProcessBuilder pb =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("SPRING_") || k.startsWith("NIGHTSHIFT_"));
    env.put("SERVER_PORT", String.valueOf(port));
    env.put("NIGHTSHIFT_DATA_DIR", data.toString());
    env.put("NIGHTSHIFT_ADMIN_PASSWORD", Http.ADMIN_PASSWORD);
    env.put("NIGHTSHIFT_ENROLLMENT_TOKEN", Http.ENROLLMENT_TOKEN);
    env.putAll(extraEnv);
    ServerProcess server = new ServerProcess(pb.start(), port, log, data, tls);
    server.dir = dir;
    server.startEnv = new LinkedHashMap<>(extraEnv);
    server.startJvmArgs = List.copyOf(jvmArgs);
    server.awaitHealthy();
    return server;
  }

  private void awaitHealthy() throws IOException {
    try {
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                if (!process.isAlive()) {
                  throw new IllegalStateException("server exited: " + Files.readString(log));
                }
                try {
                  if (tls != null) {
                    return tls.send(
                                java.net.http.HttpRequest.newBuilder(
                                        java.net.URI.create(url() + "/actuator/health"))
                                    .build(),
                                java.net.http.HttpResponse.BodyHandlers.discarding())
                            .statusCode()
                        == 200;
                  }
                  return Http.anonymous(port).get("/actuator/health").status() == 200;
                } catch (RuntimeException | IOException notYet) {
                  return false;
                }
              });
    } catch (RuntimeException e) {
      close();
      throw new IllegalStateException("server did not become healthy; log:\n" + Files.readString(log), e);
    }
  }

  public String url() {
    return (tls != null ? "https" : "http") + "://127.0.0.1:" + port;
  }

  public Http admin() {
    return Http.admin(port);
  }

  /** The worker of this name as GET /api/v1/workers lists it, or null. */
  public tools.jackson.databind.JsonNode workerNamed(String name) {
    for (tools.jackson.databind.JsonNode w : admin().get("/api/v1/workers").json().get("items")) {
      if (w.get("name").asString().equals(name)) {
        return w;
      }
    }
    return null;
  }

  /** The server's operating-system process id (for RSS and CPU figures from /proc). */
  public long pid() {
    return process.pid();
  }

  /** SIGKILL: no shutdown hook, no goodbye. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Whether the process still runs. */
  public boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Starts the server again on the same database, data dir and log (appended), on a new free port; this one must
   * have ended ({@link #kill} or {@link #close}). Plain HTTP only.
   */
  public ServerProcess restart() throws IOException {
    return startRaw(dir, startEnv, startJvmArgs);
  }

  /**
   * As {@link #restart}, on the same port (a load balancer's configuration names it); this one must have ended.
   */
  public ServerProcess restartOnSamePort() throws IOException {
    Map<String, String> env = new LinkedHashMap<>(startEnv);
    env.put("SERVER_PORT", String.valueOf(port));
    return startRaw(dir, env, startJvmArgs);
  }

  public String logText() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
