package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.DataDir;
import dev.nightshift.agent.idle.OwnerPause;
import java.io.IOException;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** {@code resume}: ends the owner's pause. */
@Command(
    name = "resume",
    mixinStandardHelpOptions = true,
    description = {
      "End a pause made with 'nightshift-agent pause' (deletes <data-dir>/owner-pause); suspended batches continue"
          + " and claims start again as soon as the idle policy allows. Works whether or not the agent runs."
    })
final class ResumeCommand extends LocalAgentCommand {
  ResumeCommand(CliEnvironment environment) {
    super(environment);
  }

  @Override
  public Integer call() {
    DataDir data = data();
    boolean was;
    try {
      was = new OwnerPause(data.pauseFile()).resume();
    } catch (IOException e) {
      return usageError("cannot delete " + data.pauseFile() + ": " + e.getMessage());
    }
    PrintWriter out = out();
    out.println(was ? "resumed: the pause is over" : "not paused: nothing to resume");
    out.println(runningPid(data)
        .map(pid -> "the running agent (pid " + pid + ") follows its idle policy again within seconds")
        .orElse("no agent is running with " + data.root() + " now"));
    out.flush();
    return AgentCommand.EXIT_OK;
  }
}
