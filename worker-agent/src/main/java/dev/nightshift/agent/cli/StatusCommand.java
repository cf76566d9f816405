package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.DataDir;
import dev.nightshift.agent.config.Defaults;
import dev.nightshift.agent.idle.OwnerPause;
import dev.nightshift.agent.idle.ProbePolicy;
import dev.nightshift.agent.system.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import picocli.CommandLine.Command;
import tools.jackson.databind.JsonNode;

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
    JsonNode status;
    try {
      status = Json.mapper().readTree(Files.readAllBytes(data.statusFile()));
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
    Instant updated = Instant.parse(status.path("updatedAt").asString("1970-01-01T00:00:00Z"));
    Duration age = Duration.between(updated, Instant.now());
    boolean stale = age.compareTo(Defaults.STATUS_STALE) > 0 || status.path("pid").asLong() != pid.get();
    out.println("updated: " + updated + " (" + ProbePolicy.human(age) + " ago"
        + (stale ? "; STALE: the agent has not updated it, it may be hung or the file is left from another run"
            : "") + ")");
    out.println("verdict: " + status.path("verdict").asString("?") + " - " + status.path("reason").asString(""));
    out.println("state sent to the server: " + status.path("state").asString("?") + " - "
        + status.path("stateReason").asString(""));
    out.println("probes:");
    status.path("readings").properties().forEach(e -> out.println("  " + e.getKey() + ": " + e.getValue().asString()));
    JsonNode batches = status.path("batches");
    out.println("batches: " + (batches.isEmpty() ? "none" : batches.size() + " of "
        + status.path("slots").asInt() + " slot(s)"));
    for (JsonNode b : batches) {
      out.println("  batch " + b.path("batchId").asLong() + " attempt " + b.path("attempt").asInt() + ": "
          + b.path("phase").asString()
          + (b.has("suspendedSeconds") ? " for " + ProbePolicy.human(Duration.ofSeconds(b.path("suspendedSeconds").asLong()))
              + " (vacated after " + ProbePolicy.human(Duration.ofSeconds(status.path("vacateAfterSeconds").asLong())) + ")" : ""));
    }
    out.flush();
    return stale ? EXIT_NOT_RUNNING : AgentCommand.EXIT_OK;
  }
}
