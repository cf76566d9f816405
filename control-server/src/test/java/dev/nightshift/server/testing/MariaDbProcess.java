package dev.nightshift.server.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A MariaDB server of a test's own, as a separate {@code mariadbd} process (Debian's {@code mariadb-server}
 * binaries) on a free port, with its data directory in the test's directory: the test can SIGKILL it and start it
 * again on the same port and data, as a database host that crashes and comes back. Root over TCP without password.
 */
public final class MariaDbProcess implements AutoCloseable {
  static final Path MARIADBD = Path.of("/usr/sbin/mariadbd");
  static final List<Path> INSTALL_DB =
      List.of(Path.of("/usr/bin/mariadb-install-db"), Path.of("/usr/bin/mysql_install_db"));

  private final Path dir;
  private final int port;
  private final List<String> options;
  private Process process;

  private MariaDbProcess(Path dir, int port, List<String> options) {
    this.dir = dir;
    this.port = port;
    this.options = List.copyOf(options);
  }

  /** Why this machine cannot run one (the binaries are missing), or null when it can. */
  public static String missing() {
    if (!Files.isExecutable(MARIADBD) || installDb() == null) {
      return MARIADBD + " or mariadb-install-db is missing: install Debian's mariadb-server package"
          + " (apt-get install -y mariadb-server) to run this test";
    }
    return null;
  }

  private static Path installDb() {
    return INSTALL_DB.stream().filter(Files::isExecutable).findFirst().orElse(null);
  }

  /** Creates a data directory under {@code dir} and starts the server on {@code port}; returns once it answers. */
  public static MariaDbProcess install(Path dir, int port) throws IOException, InterruptedException {
    return install(dir, port, List.of());
  }

  /**
   * As {@link #install(Path, int)}, with more server options (e.g. {@code --server-id=1}, {@code --log-bin} for a
   * replication primary; any {@code --log-bin} option replaces the default {@code --skip-log-bin}).
   */
  public static MariaDbProcess install(Path dir, int port, List<String> options)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Process install =
        new ProcessBuilder(
                installDb().toString(),
                "--no-defaults",
                "--datadir=" + dir.resolve("data"),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=" + System.getProperty("user.name"))
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("install.log").toFile())
            .start();
    if (!install.waitFor(90, TimeUnit.SECONDS) || install.exitValue() != 0) {
      install.destroyForcibly();
      throw new IllegalStateException("mariadb-install-db failed: " + Files.readString(dir.resolve("install.log")));
    }
    MariaDbProcess db = new MariaDbProcess(dir, port, options);
    db.start();
    return db;
  }

  /** Starts the server on its port and data directory (again, after {@link #kill}); returns once it answers. */
  public void start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("mariadbd is already running");
    }
    List<String> command =
        new java.util.ArrayList<>(
            List.of(
                MARIADBD.toString(),
                "--no-defaults",
                "--datadir=" + dir.resolve("data"),
                "--port=" + port,
                "--bind-address=127.0.0.1",
                "--socket=" + dir.resolve("mariadbd.sock"),
                "--pid-file=" + dir.resolve("mariadbd.pid"),
                "--user=" + System.getProperty("user.name"),
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--max-connections=200"));
    if (options.stream().anyMatch(o -> o.startsWith("--log-bin"))) {
      command.remove("--skip-log-bin");
    }
    command.addAll(options);
    process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("mariadbd.log").toFile()))
            .start();
    Process started = process;
    Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly)); // also when the test JVM is stopped
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try (Connection c = DriverManager.getConnection(serverUrl() + "?connectTimeout=1000", "root", "")) {
        return;
      } catch (SQLException notYet) {
        if (!process.isAlive()) {
          throw new IllegalStateException("mariadbd exited: " + log());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("mariadbd did not answer within 60 s: " + log());
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
    }
  }

  /** SIGKILL: the database vanishes at once, as in a crash; open connections are reset. */
  public void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  public void createDatabase(String name) throws SQLException {
    try (Connection c = DriverManager.getConnection(serverUrl(), "root", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
    }
  }

  /** {@code jdbc:mariadb://127.0.0.1:port/} */
  public String serverUrl() {
    return "jdbc:mariadb://127.0.0.1:" + port + "/";
  }

  public int port() {
    return port;
  }

  public String log() throws IOException {
    Path log = dir.resolve("mariadbd.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Override
  public void close() {
    try {
      kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
