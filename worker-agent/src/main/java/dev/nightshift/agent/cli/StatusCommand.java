package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.DataDir;
import dev.nightshift.agent.config.Defaults;
import dev.nightshift.agent.idle.OwnerPause;
import dev.nightshift.agent.idle.ProbePolicy;
import dev.nightshift.agent.loop.AgentStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;

/** {@code status}: what the agent of a data dir decided last, and why. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Show the agent of this data dir: whether it runs (the lock holder's pid), its idle verdict and reason,"
          + " every probe's reading, and its batches, from <data-dir>/status.json which the agent rewrites every"
          + " few seconds.",
      "Exits 0 when the agent runs and its status is fresh, 3 when no agent runs or its status is stale."
    })
final class StatusCommand extends LocalAgentCommand {
  static final int EXIT_NOT_RUNNING = 3;

  StatusCommand(CliEnvironment environment) {
    super(environment);
  }

  @Override
  public Integer call() {
    DataDir data = data();
    PrintWriter out = out();
    Optional<Long> pid = runningPid(data);
    OwnerPause.State pause = new OwnerPause(data.pauseFile()).read();
    out.println("data dir: " + data.root());
    out.println("owner pause: " + (!pause.present() ? "none"
        : pause.problem() != null ? pause.problem()
        : pause.until() == null ? "until resumed"
        : pause.pausedAt(Instant.now()) ? "until " + pause.until() : "expired at " + pause.until()));
    if (pid.isEmpty()) {
      out.println("agent: not running (no live process holds the lock; pid file " + data.pidFile() + ")");
      out.flush();
      return EXIT_NOT_RUNNING;
    }
    out.println("agent: running, pid " + pid.get() + " holds " + data.lockFile());
    AgentStatus status;
    try {
      status = AgentStatus.read(data.statusFile());
    } catch (NoSuchFileException e) {
      out.println("status: none yet (" + data.statusFile() + " not written: the agent is starting, or older"
          + " than this command)");
      out.flush();
      return EXIT_NOT_RUNNING;
    } catch (IOException | RuntimeException e) {
      out.println("status: unreadable (" + e.getMessage() + ")");
      out.flush();
      return EXIT_NOT_RUNNING;
    }
    Instant updated = status.updatedAt() == null ? Instant.EPOCH : status.updatedAt();
    Duration age = Duration.between(updated, Instant.now());
    boolean stale = age.compareTo(Defaults.STATUS_STALE) > 0 || status.pid() != pid.get();
    out.println("updated: " + updated + " (" + ProbePolicy.human(age) + " ago"
        + (stale ? "; STALE: the agent has not updated it, it may be hung or the file is left from another run"
            : "") + ")");
    out.println("verdict: " + orElse(status.verdict(), "?") + " - " + orElse(status.reason(), ""));
    out.println("state sent to the server: " + orElse(status.state(), "?") + " - " + orElse(status.stateReason(), ""));
    out.println("probes:");
    status.readings().forEach((k, v) -> out.println("  " + k + ": " + v));
    List<AgentStatus.Batch> batches = status.batches();
    out.println("batches: " + (batches.isEmpty() ? "none" : batches.size() + " of " + status.slots() + " slot(s)"));
    for (AgentStatus.Batch b : batches) {
      out.println("  batch " + b.batchId() + " attempt " + b.attempt() + ": " + b.phase()
          + (b.suspendedSeconds() != null
              ? " for " + ProbePolicy.human(Duration.ofSeconds(b.suspendedSeconds())) + " (vacated after "
                  + ProbePolicy.human(Duration.ofSeconds(status.vacateAfterSeconds())) + ")"
              : ""));
    }
    out.flush();
    return stale ? EXIT_NOT_RUNNING : AgentCommand.EXIT_OK;
  }

  private static String orElse(String s, String fallback) {
    return s == null ? fallback : s;
  }
}
