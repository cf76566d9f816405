package dev.nightshift.agent.cli;

import dev.nightshift.agent.system.HostFactsProbe;
import java.util.Map;
import java.util.function.Function;

/**
 * What the commands read from the process around them, injected so tests can run them in-process.
 *
 * @param env the environment variables
 * @param userHome the user's home directory
 * @param hostname the host name, given the environment
 * @param installShutdownHooks whether daemon commands stop gracefully on SIGTERM / Ctrl-C
 */
public record CliEnvironment(
    Map<String, String> env,
    String userHome,
    Function<Map<String, String>, String> hostname,
    boolean installShutdownHooks) {

  public static CliEnvironment ofProcess() {
    return new CliEnvironment(System.getenv(), System.getProperty("user.home"), HostFactsProbe::hostname, true);
  }
}
