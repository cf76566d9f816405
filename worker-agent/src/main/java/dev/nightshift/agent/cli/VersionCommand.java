package dev.nightshift.agent.cli;

import dev.nightshift.agent.system.AgentVersion;
import dev.nightshift.protocol.AgentPaths;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code version}: prints the agent, protocol and Java versions. */
@Command(name = "version", mixinStandardHelpOptions = true, description = "Print the agent's version.")
final class VersionCommand implements Callable<Integer>, picocli.CommandLine.IVersionProvider {
  @Spec CommandSpec spec;

  static String text() {
    return "nightshift-agent " + AgentVersion.current() + " (agent protocol " + AgentPaths.VERSION + ", Java "
        + Runtime.version() + ")";
  }

  @Override
  public Integer call() {
    spec.commandLine().getOut().println(text());
    spec.commandLine().getOut().flush();
    return 0;
  }

  @Override
  public String[] getVersion() {
    return new String[] {text()};
  }
}
