package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.AgentSettings;
import dev.nightshift.agent.config.Defaults;
import dev.nightshift.agent.loop.AgentLoop;
import dev.nightshift.agent.loop.LoopConfig;
import java.util.Optional;
import picocli.CommandLine.Command;

/** {@code once}: cron / Task Scheduler mode. */
@Command(
    name = "once",
    mixinStandardHelpOptions = true,
    description = {
      "Cron / Task Scheduler mode: work while there is work (same loop as 'run', claims wait at most 2s unless"
          + " --claim-wait is given), then exit 0 when no work is left, nothing runs and no result waits to be"
          + " reported.",
      "Exits 0 at once if another agent already runs with the same data dir, or if the idle policy says not now;"
          + " exits 1 if the server keeps failing (spooled results are re-sent next time)."
    })
final class OnceCommand extends AgentCommand {
  OnceCommand(CliEnvironment environment) {
    super(environment);
  }

  @Override
  LoopConfig loopConfig(AgentSettings settings) {
    LoopConfig c = LoopConfig.from(settings);
    return options.claimWait == null && !environment.env().containsKey("NIGHTSHIFT_CLAIM_WAIT")
        ? c.withClaimWait(Defaults.ONCE_CLAIM_WAIT)
        : c;
  }

  @Override
  String defaultIdlePolicy() {
    return Defaults.IDLE_POLICY;
  }

  @Override
  int execute(AgentLoop loop) {
    Optional<Thread> hook = onShutdown(loop);
    int code = loop.runOnce();
    loop.shutdown();
    removeHook(hook);
    return code;
  }
}
