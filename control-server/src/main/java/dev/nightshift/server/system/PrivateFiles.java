package dev.nightshift.server.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Files and directories only the server's OS user may read: directories 0700, files 0600 on POSIX file systems; a
 * no-op elsewhere (on Windows the data directory's ACL applies, see docs/security.md).
 */
public final class PrivateFiles {
  private PrivateFiles() {}

  /** Creates {@code dir} (and parents) if missing and makes it 0700. */
  public static Path privateDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    restrictDir(dir);
    return dir;
  }

  /** Sets 0700 on an existing directory. */
  public static void restrictDir(Path dir) {
    try {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system
    }
  }

  /** Writes {@code text} to a new file that is 0600 from its creation on. */
  public static void writePrivate(Path file, String text) throws IOException {
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
  }
}
