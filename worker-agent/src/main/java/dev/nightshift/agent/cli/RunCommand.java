package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.AgentSettings;
import dev.nightshift.agent.idle.IdlePolicies;
import dev.nightshift.agent.loop.AgentLoop;
import dev.nightshift.agent.loop.LoopConfig;
import java.util.Optional;
import picocli.CommandLine.Command;

/** {@code run}: the daemon. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run the agent as a daemon: enroll once, then claim batches for the free slots, run them and report the"
          + " results, until stopped (SIGTERM / Ctrl-C stops gracefully: running batches are killed and their"
          + " leases given back).",
      "Exits 0 at once if another agent already runs with the same data dir.",
      "Started by 'launch', it follows the agent updates the server offers: it finishes its batches and exits 75"
          + " for the launcher to restart it into the new version."
    })
final class RunCommand extends AgentCommand {
  RunCommand(CliEnvironment environment) {
    super(environment);
  }

  @Override
  LoopConfig loopConfig(AgentSettings settings) {
    return LoopConfig.from(settings);
  }

  @Override
  String defaultIdlePolicy() {
    return IdlePolicies.defaultForRun(System.getProperty("os.name"), environment.env());
  }

  @Override
  int execute(AgentLoop loop) {
    Optional<Thread> hook = onShutdown(loop);
    loop.runUntilStopped();
    loop.shutdown(); // waits for the shutdown hook's graceful stop to finish
    removeHook(hook);
    return loop.restartRequested() ? dev.nightshift.agent.update.SelfUpdate.EXIT_RESTART : EXIT_OK;
  }

  @Override
  boolean followsUpdates() {
    return true;
  }
}
