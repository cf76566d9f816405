package dev.nightshift.server.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Debian's HAProxy ({@code /usr/sbin/haproxy}) in front of server instances, as deploy/haproxy/haproxy.cfg sets it
 * up: round-robin per request, each instance checked on its health endpoint, a request whose instance cannot be
 * reached sent to another. Started from a generated configuration on a free port; {@link #available()} tells tests
 * to skip (with the reason) where it is not installed ({@code apt-get install haproxy}).
 */
public final class HaProxy implements AutoCloseable {
  public static final Path BINARY = Path.of("/usr/sbin/haproxy");
  private final Process process;
  public final int port;
  public final Path log;

  private HaProxy(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Whether HAProxy is installed here. */
  public static boolean available() {
    return Files.isExecutable(BINARY);
  }

  /** The configuration for a frontend on {@code port} balancing over the instances on {@code backends}. */
  public static String config(int port, List<Integer> backends) {
    StringBuilder cfg =
        new StringBuilder(
            """
            global
              maxconn 4096

            defaults
              mode http
              option redispatch
              retries 3
              timeout connect 2s
              # claims are long polls (up to 30 s) and uploads may be slow
              timeout client 120s
              timeout server 120s
              timeout http-keep-alive 65s

            frontend nightshift
              bind 127.0.0.1:%d
              default_backend servers

            backend servers
              balance roundrobin
              option httpchk GET /actuator/health
              http-check expect status 200
              default-server inter 500ms fall 2 rise 1
            """
                .formatted(port));
    for (int i = 0; i < backends.size(); i++) {
      cfg.append("  server s").append(i + 1).append(" 127.0.0.1:").append(backends.get(i)).append(" check\n");
    }
    return cfg.toString();
  }

  /** Starts HAProxy in the foreground and waits until it answers the health endpoint through every backend. */
  public static HaProxy start(Path dir, List<Integer> backends) throws IOException {
    Files.createDirectories(dir);
    int port = ServerProcess.freePort();
    Path cfg = dir.resolve("haproxy.cfg");
    Files.writeString(cfg, config(port, backends));
    Path log = dir.resolve("haproxy.log");
    List<String> command = new ArrayList<>(List.of(BINARY.toString(), "-db", "-f", cfg.toString()));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    HaProxy proxy = new HaProxy(process, port, log);
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                if (!process.isAlive()) {
                  throw new IllegalStateException("haproxy exited: " + Files.readString(log));
                }
                for (int i = 0; i < backends.size() * 2; i++) {
                  try {
                    if (Http.anonymous(port).get("/actuator/health").status() != 200) {
                      return false;
                    }
                  } catch (RuntimeException notYet) {
                    return false;
                  }
                }
                return true;
              });
    } catch (RuntimeException e) {
      proxy.close();
      throw new IllegalStateException("haproxy did not come up; log:\n" + Files.readString(log), e);
    }
    return proxy;
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public String logText() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
