package dev.nightshift.agent.loop;

import dev.nightshift.agent.system.AtomicFiles;
import dev.nightshift.agent.system.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the running agent last decided and runs: written by the loop to {@code <data-dir>/status.json} at every idle
 * re-check, read by {@code nightshift-agent status}. One type on both sides, so they cannot drift apart.
 *
 * @param pid the agent's process id
 * @param updatedAt when the loop wrote it
 * @param verdict the idle verdict's word (RUN, WAIT), null before the first check
 * @param reason why
 * @param readings what each probe read (probe name → reading text)
 * @param state the worker state the heartbeat sends
 * @param stateReason the reason the heartbeat sends
 * @param slots the agent's slots
 * @param vacateAfterSeconds how long a batch may stay suspended before it is vacated
 * @param batches the batches it holds, by batch id
 */
public record AgentStatus(
    long pid,
    Instant updatedAt,
    String verdict,
    String reason,
    Map<String, String> readings,
    String state,
    String stateReason,
    int slots,
    long vacateAfterSeconds,
    List<Batch> batches) {

  public AgentStatus {
    readings = readings == null ? Map.of() : readings;
    batches = batches == null ? List.of() : batches;
  }

  /** Where a held batch is. */
  public enum Phase {
    RUNNING,
    /** Its process tree is stopped while the owner is back. */
    SUSPENDED,
    /** It ended; its result waits in the outbox for the server's answer. */
    REPORTING
  }

  /**
   * @param suspendedSeconds how long it has been suspended; null unless SUSPENDED
   */
  public record Batch(long batchId, int attempt, Phase phase, Long suspendedSeconds) {}

  /** Rewrites the file atomically, without an fsync: a diagnostic, rewritten every few seconds. */
  public void write(Path file) throws IOException {
    AtomicFiles.replace(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(this));
  }

  /** Reads a status file; fields a newer agent added are ignored. */
  public static AgentStatus read(Path file) throws IOException {
    try {
      return Json.mapper().readValue(Files.readAllBytes(file), AgentStatus.class);
    } catch (tools.jackson.core.JacksonException e) {
      throw new IOException("unreadable status file " + file + ": " + e.getOriginalMessage(), e);
    }
  }
}
