package dev.nightshift.agent.system;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Writes files so that a crash leaves either the old or the new content, never a torn file. */
public final class AtomicFiles {
  /** Suffix of the temporary files; leftovers of a crash can be deleted on startup. */
  public static final String TEMP_SUFFIX = ".tmp";

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private AtomicFiles() {}

  /**
   * Writes {@code bytes} to a temporary file beside {@code target}, forces it to disk, then renames it over the
   * target (atomically where the file system allows).
   *
   * @param ownerOnly restrict the file to its owner (POSIX 600) where the file system supports it
   */
  public static void write(Path target, byte[] bytes, boolean ownerOnly) throws IOException {
    write(target, bytes, ownerOnly, true);
  }

  /**
   * Like {@link #write} but without forcing anything to disk: readers never see a torn file, but a crash may leave
   * the old content (or, on some file systems, an empty file). For diagnostics rewritten every few seconds.
   */
  public static void replace(Path target, byte[] bytes) throws IOException {
    write(target, bytes, false, false);
  }

  private static void write(Path target, byte[] bytes, boolean ownerOnly, boolean durable) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = dir.resolve(target.getFileName() + "." + ProcessHandle.current().pid() + TEMP_SUFFIX);
    try {
      try (FileChannel ch =
          FileChannel.open(
              temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        if (ownerOnly) {
          restrictToOwner(temp);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        if (durable) {
          ch.force(true);
        }
      }
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      if (durable) {
        syncDirectory(dir);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Sets POSIX permissions 600 where supported; a no-op elsewhere (e.g. Windows, where ACLs apply). */
  public static void restrictToOwner(Path file) {
    try {
      Files.setPosixFilePermissions(file, OWNER_ONLY);
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system: the data directory's own ACL protects it
    }
  }

  /**
   * Sets POSIX permissions 700 on a directory where supported, so that other OS users can read nothing below it; a
   * no-op elsewhere (on Windows, the directory's ACL applies: see docs/security.md).
   */
  public static void restrictDirToOwner(Path dir) {
    try {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system
    }
  }

  /** Deletes a directory tree (files made read-only by a script included); nothing when it does not exist. */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (java.util.stream.Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (!Files.isSymbolicLink(p) && !p.toFile().canWrite()) {
          p.toFile().setWritable(true);
        }
        Files.deleteIfExists(p);
      }
    }
  }

  /** {@link #deleteTree}, leaving what cannot be deleted for the next startup's cleanup. */
  public static void deleteTreeQuietly(Path root) {
    try {
      deleteTree(root);
    } catch (IOException | RuntimeException e) {
      // left for the next startup's cleanup
    }
  }

  /** Deletes {@code file} when there is one; a file that cannot be deleted is left for the next startup's cleanup. */
  public static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // left for the next startup's cleanup
      }
    }
  }

  /** Makes a rename durable on Linux; other systems refuse to open directories, which is harmless. */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // best effort
    }
  }
}
