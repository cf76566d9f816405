package dev.nightshift.server.testing;

import dev.nightshift.server.system.EmbeddedMariaDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.test.util.TestPropertyValues;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The MySQL-family server tests run against: the one named by {@code NIGHTSHIFT_TEST_JDBC_URL} (a server URL
 * without database, e.g. {@code jdbc:mariadb://127.0.0.1:3306/}; user from {@code NIGHTSHIFT_TEST_JDBC_USER},
 * default root, password {@code NIGHTSHIFT_TEST_JDBC_PASSWORD}, default empty), else an embedded MariaDB started
 * once per JVM. Every Spring context gets a fresh database of its own.
 */
public final class TestDatabase {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static String serverUrl;
  private static String user;
  private static String password;

  private TestDatabase() {}

  private static synchronized void ensureServer() {
    if (serverUrl != null) {
      return;
    }
    String external = setting("NIGHTSHIFT_TEST_JDBC_URL");
    if (external != null && !external.isBlank()) {
      serverUrl = external.endsWith("/") ? external : external + "/";
      user = setting("NIGHTSHIFT_TEST_JDBC_USER") == null ? "root" : setting("NIGHTSHIFT_TEST_JDBC_USER");
      password = setting("NIGHTSHIFT_TEST_JDBC_PASSWORD") == null ? "" : setting("NIGHTSHIFT_TEST_JDBC_PASSWORD");
      dropDatabases(false); // left behind by test JVMs that died
      Runtime.getRuntime().addShutdownHook(new Thread(() -> dropDatabases(true)));
      return;
    }
    try {
      // One directory per test JVM: JVMs sharing unpacked binaries would overwrite a running mariadbd.
      Path root = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "nightshift-test-mariadb"));
      removeStale(root);
      Path mine = root.resolve(String.valueOf(ProcessHandle.current().pid()));
      EmbeddedMariaDb db = EmbeddedMariaDb.start(mine.resolve("base"), mine.resolve("data"), "nightshift_bootstrap");
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    db.close();
                    deleteTree(mine);
                  }));
      serverUrl = "jdbc:mariadb://127.0.0.1:" + db.port() + "/";
      user = db.user();
      password = db.password();
    } catch (Exception e) {
      throw new IllegalStateException("could not start the embedded test database", e);
    }
  }

  /** Drops this JVM's test databases ({@code mine}) or those of test JVMs no longer running. */
  private static void dropDatabases(boolean mine) {
    long me = ProcessHandle.current().pid();
    try (Connection c = DriverManager.getConnection(serverUrl, user, password);
        Statement s = c.createStatement()) {
      java.util.List<String> names = new java.util.ArrayList<>();
      try (var rs = s.executeQuery("SHOW DATABASES LIKE 'nightshift\\_t%'")) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
      for (String name : names) {
        var m = java.util.regex.Pattern.compile("nightshift_t(\\d+)_\\d+").matcher(name);
        if (!m.matches()) {
          continue;
        }
        long pid = Long.parseLong(m.group(1));
        boolean drop = mine ? pid == me : pid != me && ProcessHandle.of(pid).isEmpty();
        if (drop) {
          s.execute("DROP DATABASE IF EXISTS " + name);
        }
      }
    } catch (SQLException e) {
      System.err.println("test databases not cleaned up: " + e.getMessage());
    }
  }

  /** Removes the directories of test JVMs that are no longer running. */
  private static void removeStale(Path root) throws java.io.IOException {
    try (var dirs = Files.list(root)) {
      for (Path dir : dirs.toList()) {
        String name = dir.getFileName().toString();
        if (name.matches("\\d+") && ProcessHandle.of(Long.parseLong(name)).isEmpty()) {
          deleteTree(dir);
        }
      }
    }
  }

  private static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (java.io.IOException e) {
      // best effort
    }
  }

  private static String setting(String name) {
    String value = System.getProperty(name);
    return value != null ? value : System.getenv(name);
  }

  /** A database nobody else uses: {@code [url, user, password]}. */
  public static String[] fresh() {
    ensureServer();
    String name = "nightshift_t" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    try (Connection c = DriverManager.getConnection(serverUrl, user, password);
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name);
      s.execute("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
    } catch (SQLException e) {
      throw new IllegalStateException("could not create test database " + name + " at " + serverUrl, e);
    }
    return new String[] {serverUrl + name, user, password};
  }

  /** Gives each Spring test context its own fresh database. */
  public static class Initializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {
    @Override
    public void initialize(ConfigurableApplicationContext context) {
      String[] db = fresh();
      String name = db[0].substring(db[0].lastIndexOf('/') + 1);
      TestPropertyValues.of(
              "nightshift.data-dir="
                  + Path.of(System.getProperty("java.io.tmpdir"), "nightshift-test-server", name),
              "spring.datasource.url=" + db[0],
              "spring.datasource.username=" + db[1],
              "spring.datasource.password=" + db[2])
          .applyTo(context);
    }
  }
}
