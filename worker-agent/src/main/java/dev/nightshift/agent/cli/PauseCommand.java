package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.DataDir;
import dev.nightshift.agent.config.SettingsResolver;
import dev.nightshift.agent.idle.OwnerPause;
import dev.nightshift.agent.idle.ProbePolicy;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pause}: the owner's "not now" button. */
@Command(
    name = "pause",
    mixinStandardHelpOptions = true,
    description = {
      "Pause the agent of this data dir: it claims nothing, and running batches are suspended (then vacated after"
          + " --vacate-after) until the pause ends or 'nightshift-agent resume'. Works whether or not the agent"
          + " runs (a running agent notices within seconds); writes <data-dir>/owner-pause."
    })
final class PauseCommand extends LocalAgentCommand {
  static final Duration MAX = Duration.ofDays(365);

  @Option(
      names = "--for",
      paramLabel = "DURATION",
      description = "How long, e.g. 30m, 2h, 90s. Default: until 'nightshift-agent resume'.")
  String forText;

  PauseCommand(CliEnvironment environment) {
    super(environment);
  }

  @Override
  public Integer call() {
    Duration length = null;
    if (forText != null) {
      length = SettingsResolver.parseDuration(forText.trim());
      if (length == null || length.isNegative() || length.isZero() || length.compareTo(MAX) > 0) {
        return usageError("invalid duration '" + forText + "' for --for: expected a duration from 1s to 365 days"
            + " such as 30m, 2h or 90s");
      }
    }
    DataDir data = data();
    Instant now = Instant.now();
    Instant until = length == null ? null : now.plus(length);
    try {
      new OwnerPause(data.pauseFile()).pause(now, until);
    } catch (IOException e) {
      return usageError("cannot write " + data.pauseFile() + ": " + e.getMessage());
    }
    PrintWriter out = out();
    out.println("paused " + (until == null
        ? "until 'nightshift-agent resume --data-dir " + data.root() + "'"
        : "for " + ProbePolicy.human(length) + ", until " + DateTimeFormatter.ofPattern("EEE yyyy-MM-dd HH:mm")
            .withZone(ZoneId.systemDefault()).format(until)));
    out.println(runningPid(data)
        .map(pid -> "the running agent (pid " + pid + ") claims nothing more and suspends its running batches"
            + " within seconds")
        .orElse("no agent is running with " + data.root() + " now; the pause applies when one starts"));
    out.flush();
    return AgentCommand.EXIT_OK;
  }
}
