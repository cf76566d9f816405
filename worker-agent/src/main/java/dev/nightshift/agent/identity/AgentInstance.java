package dev.nightshift.agent.identity;

import dev.nightshift.agent.system.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * This agent process's instance id (random, new at every start) and the ids of the processes that ran on the same
 * data dir before it, newest first, read from the data dir's {@code instance} file, which then names this process
 * first. The server lets a process that names the process it knows as a predecessor take the identity over at once
 * (a restart; the data-dir lock lets only one process run per data dir), and finds out a copied data dir (a cloned
 * VM) when the original calls again. Several predecessors are kept because a process may die before its first call
 * reaches the server: the next one must still name the process the server knows.
 *
 * @param id this process's instance id
 * @param previous earlier processes' instance ids on this data dir, newest first (empty on a first start)
 */
public record AgentInstance(String id, List<String> previous) {
  private static final Logger LOG = Logger.getLogger(AgentInstance.class.getName());
  /** How many earlier ids the file keeps (and a call names). */
  public static final int KEPT = 4;

  public AgentInstance {
    previous = List.copyOf(previous);
  }

  /** An instance without a recorded predecessor (tests, tools that do not own a data dir). */
  public static AgentInstance fresh() {
    return new AgentInstance(UUID.randomUUID().toString(), List.of());
  }

  /** The predecessors as the header carries them (comma-separated), or null when there are none. */
  public String previousHeader() {
    return previous.isEmpty() ? null : String.join(",", previous);
  }

  /**
   * Starts a new instance on the data dir's {@code file}: reads the predecessors, then records this process first,
   * durably, before any call names it. Call only while holding the data dir's lock.
   */
  public static AgentInstance start(Path file) {
    List<String> previous = new ArrayList<>();
    try {
      if (Files.isRegularFile(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String s = line.strip();
          if (s.matches("[A-Za-z0-9-]{1,64}") && previous.size() < KEPT) {
            previous.add(s);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("cannot read " + file + " (" + e.getMessage() + "): this start cannot prove it succeeds the"
          + " previous agent process, so the server accepts it once that process has been silent for the offline"
          + " timeout");
    }
    AgentInstance instance = new AgentInstance(UUID.randomUUID().toString(), previous);
    List<String> lines = new ArrayList<>();
    lines.add(instance.id);
    lines.addAll(previous.subList(0, Math.min(previous.size(), KEPT - 1)));
    try {
      AtomicFiles.write(file, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8), true);
    } catch (IOException e) {
      LOG.warning("cannot record this agent process in " + file + " (" + e.getMessage() + "): its next restart"
          + " waits for the offline timeout before the server accepts it");
    }
    return instance;
  }
}
