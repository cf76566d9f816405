package dev.nightshift.agent.identity;

import dev.nightshift.agent.system.AtomicFiles;
import dev.nightshift.agent.system.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import tools.jackson.core.JacksonException;

/** Loads and saves the identity file: JSON, written atomically, readable by its owner only where supported. */
public final class IdentityStore {
  private final Path file;

  public IdentityStore(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  /** The persisted identity; empty when none was saved or the file is unreadable (then enrollment starts over). */
  public Optional<Identity> load() {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      Identity id = Json.mapper().readValue(Files.readAllBytes(file), Identity.class);
      if (id.workerId() == null || id.agentToken() == null) {
        throw new IllegalStateException("identity file " + file + " lacks workerId or agentToken");
      }
      return Optional.of(id);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read identity file " + file, e);
    } catch (JacksonException e) {
      throw new IllegalStateException(
          "identity file " + file + " is corrupt (" + e.getOriginalMessage() + "): delete it and enroll again", e);
    }
  }

  public void save(Identity identity) {
    try {
      AtomicFiles.write(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(identity), true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write identity file " + file, e);
    }
  }
}
