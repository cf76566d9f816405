package dev.nightshift.agent;

import dev.nightshift.agent.cli.AgentCli;
import dev.nightshift.agent.cli.CliEnvironment;
import dev.nightshift.agent.system.AgentLogManager;
import dev.nightshift.agent.system.Logging;

/** Entry point of {@code nightshift-agent.jar}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    if (System.getProperty("java.util.logging.manager") == null) {
      System.setProperty("java.util.logging.manager", AgentLogManager.class.getName());
    }
    int code = AgentCli.commandLine(CliEnvironment.ofProcess()).execute(args);
    Logging.close();
    System.exit(code);
  }
}
