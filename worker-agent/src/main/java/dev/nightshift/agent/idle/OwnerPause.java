package dev.nightshift.agent.idle;

import dev.nightshift.agent.system.AtomicFiles;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Properties;

/**
 * The owner's "not now" button: {@code nightshift-agent pause} writes {@code <data-dir>/owner-pause}, {@code resume}
 * deletes it, and the running agent reads it on every idle check. The file is a properties file:
 * {@code until=<ISO-8601 instant>} (or {@code until=indefinite}) and {@code paused-at=<instant>}. A file that cannot
 * be parsed counts as a pause without end: the owner meant to pause, and {@code resume} clears it.
 */
public final class OwnerPause {
  static final String INDEFINITE = "indefinite";
  private final Path file;

  public OwnerPause(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  /** The pause as read now. */
  public record State(boolean present, Instant until, String problem) {
    /** Whether the pause holds at {@code now}. */
    public boolean pausedAt(Instant now) {
      return present && (until == null || now.isBefore(until));
    }
  }

  public State read() {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return new State(false, null, null);
    } catch (IOException e) {
      return new State(true, null, "cannot read " + file + ": " + e.getMessage());
    }
    Properties p = new Properties();
    try {
      p.load(new StringReader(text));
      String until = p.getProperty("until", INDEFINITE).trim();
      return new State(true, until.equals(INDEFINITE) ? null : Instant.parse(until), null);
    } catch (IOException | IllegalArgumentException | DateTimeParseException e) {
      return new State(true, null, "cannot parse " + file + " (" + e.getMessage() + ")");
    }
  }

  /** Pauses until {@code until}, or without end when null. */
  public void pause(Instant now, Instant until) throws IOException {
    String text = "# written by 'nightshift-agent pause'; 'nightshift-agent resume' (or deleting this file) resumes\n"
        + "paused-at=" + now + "\n"
        + "until=" + (until == null ? INDEFINITE : until.toString()) + "\n";
    AtomicFiles.write(file, text.getBytes(StandardCharsets.UTF_8), false);
  }

  /** Ends the pause; false when there was none. */
  public boolean resume() throws IOException {
    return Files.deleteIfExists(file);
  }
}
