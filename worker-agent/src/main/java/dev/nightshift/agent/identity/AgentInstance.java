package dev.nightshift.agent.identity;

import dev.nightshift.agent.system.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * This agent process's instance id (random, new at every start) and the id of the process that ran on the same
 * data dir before it, read from the data dir's {@code instance} file, which then names this process. The server
 * lets a process that names its predecessor take the identity over at once (a restart; the data-dir lock lets only
 * one process run per data dir), and finds out a copied data dir (a cloned VM) when the original calls again.
 *
 * @param id this process's instance id
 * @param previous the previous process's instance id on this data dir, or null (first start, unreadable file)
 */
public record AgentInstance(String id, String previous) {
  private static final Logger LOG = Logger.getLogger(AgentInstance.class.getName());

  /** An instance without a recorded predecessor (tests, tools that do not own a data dir). */
  public static AgentInstance fresh() {
    return new AgentInstance(UUID.randomUUID().toString(), null);
  }

  /**
   * Starts a new instance on the data dir's {@code file}: reads the predecessor, then records this process
   * durably before any call names it. Call only while holding the data dir's lock.
   */
  public static AgentInstance start(Path file) {
    String previous = null;
    try {
      if (Files.isRegularFile(file)) {
        String s = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (s.matches("[A-Za-z0-9-]{1,64}")) {
          previous = s;
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("cannot read " + file + " (" + e.getMessage() + "): this start cannot prove it succeeds the"
          + " previous agent process, so the server accepts it once that process has been silent for the offline"
          + " timeout");
    }
    AgentInstance instance = new AgentInstance(UUID.randomUUID().toString(), previous);
    try {
      AtomicFiles.write(file, instance.id.getBytes(StandardCharsets.UTF_8), true);
    } catch (IOException e) {
      LOG.warning("cannot record this agent process in " + file + " (" + e.getMessage() + "): its next restart"
          + " waits for the offline timeout before the server accepts it");
    }
    return instance;
  }
}
