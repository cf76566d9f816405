package dev.nightshift.agent.spool;

import dev.nightshift.agent.system.AtomicFiles;
import dev.nightshift.agent.system.Json;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import tools.jackson.core.JacksonException;

/**
 * Results on disk before they are reported ({@code <data>/spool/<batchId>-<attempt>.json}), so a crash or a
 * server outage loses no finished work. A file is deleted only once the server has given a final answer.
 */
public final class Spool {
  private static final Logger LOG = Logger.getLogger(Spool.class.getName());
  private final Path dir;

  public Spool(Path dir) {
    this.dir = dir;
  }

  public Path dir() {
    return dir;
  }

  /** Writes the report durably (temp file, fsync, atomic rename) and returns its path. */
  public Path write(SpooledReport report) throws IOException {
    Path file = dir.resolve(report.fileName());
    AtomicFiles.write(file, Json.mapper().writeValueAsBytes(report), true);
    return file;
  }

  public SpooledReport read(Path file) throws IOException {
    try {
      return Json.mapper().readValue(Files.readAllBytes(file), SpooledReport.class);
    } catch (JacksonException | IllegalArgumentException e) {
      throw new IOException("corrupt spool file " + file + ": " + e.getMessage(), e);
    }
  }

  public void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warning("cannot delete spool file " + file + ": " + e.getMessage());
    }
  }

  /** Moves an unreadable file aside ({@code .bad}) so it is kept for inspection but never sent. */
  public void quarantine(Path file) {
    try {
      Files.move(file, file.resolveSibling(file.getFileName() + ".bad"), StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      delete(file);
    }
  }

  /**
   * Moves a result the server refused as malformed or too large aside ({@code .rejected}): kept for the operator,
   * never sent again, never deleted by the agent.
   */
  public void reject(Path file) {
    try {
      Files.move(file, file.resolveSibling(file.getFileName() + ".rejected"), StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      LOG.warning("cannot move spool file " + file + " aside: " + e.getMessage() + "; it stays in the spool");
    }
  }

  /** The spooled reports in name order; leftover temp files of a crash are deleted. */
  public List<Path> list() throws IOException {
    List<Path> files = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return files;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        String name = p.getFileName().toString();
        if (name.endsWith(AtomicFiles.TEMP_SUFFIX)) {
          Files.deleteIfExists(p);
        } else if (name.endsWith(".json")) {
          files.add(p);
        }
      }
    }
    files.sort(null);
    return files;
  }
}
