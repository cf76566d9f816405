package dev.nightshift.agent.runner;

import dev.nightshift.protocol.AttemptOutcome;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * How one run of a lease ended.
 *
 * @param outcome SUCCEEDED, FAILED, TIMED_OUT, or CANCELLED when the agent stopped it (cancel, shutdown)
 * @param exitCode the exit code, null when the process never ran or was killed
 * @param startedAt when the process started (when it was meant to, if it never did)
 * @param finishedAt when it ended
 * @param error a one-line explanation for anything but success, else null
 * @param logTail the tail of stderr
 * @param outputFile the file holding stdout
 * @param outputBytes the size of stdout
 */
public record RunResult(
    AttemptOutcome outcome,
    Integer exitCode,
    Instant startedAt,
    Instant finishedAt,
    String error,
    String logTail,
    Path outputFile,
    long outputBytes) {

  public Duration duration() {
    return Duration.between(startedAt, finishedAt);
  }
}
