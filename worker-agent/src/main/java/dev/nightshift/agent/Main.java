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
    // Idle kept-alive connections are closed by the agent after 60 s (the JDK's default is 20 minutes), before the
    // server's 65 s keep-alive timeout closes one under a request being sent; heartbeats (every 30 s) keep the
    // connections in use well within that.
    if (System.getProperty("jdk.httpclient.keepalive.timeout") == null) {
      System.setProperty("jdk.httpclient.keepalive.timeout", "60");
    }
    int code = AgentCli.commandLine(CliEnvironment.ofProcess()).execute(args);
    Logging.close();
    System.exit(code);
  }
}
