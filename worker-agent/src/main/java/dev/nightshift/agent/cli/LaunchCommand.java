package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.Defaults;
import dev.nightshift.agent.system.AgentVersion;
import dev.nightshift.agent.system.Logging;
import dev.nightshift.agent.update.LauncherDir;
import dev.nightshift.agent.update.Launcher;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code launch}: the launcher that keeps the agent current (self-update with roll-back). */
@Command(
    name = "launch",
    mixinStandardHelpOptions = true,
    description = {
      "Run the agent through its launcher, which follows the agent updates the server offers:"
          + " 'nightshift-agent launch [--data DIR] -- run ARGS...'. It keeps the current and the previous agent jar"
          + " in <data>/agent/versions, runs the current one as a child process and, when that exits 75, starts the"
          + " version it staged on trial; a trial agent that does not heartbeat within --trial-seconds, or exits"
          + " first, is replaced by the previous version again, and its version is reported as refused.",
      "Exits with the agent's exit code."
    })
final class LaunchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  private final CliEnvironment environment;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "The agent's data directory (as the agent's --data-dir). Env NIGHTSHIFT_DATA_DIR."
          + " Default: ~/.nightshift/agent.")
  Path data;

  @Option(
      names = "--trial-seconds",
      paramLabel = "N",
      description = "How long a new agent version has to record a successful heartbeat before it is rolled back."
          + " Env NIGHTSHIFT_LAUNCHER_TRIAL_SECONDS. Default: 180.")
  Long trialSeconds;

  @Parameters(arity = "1..*", paramLabel = "AGENT-ARGS", description = "The agent's command line, after --: run ...")
  List<String> agentArgs;

  LaunchCommand(CliEnvironment environment) {
    this.environment = environment;
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    Path dataDir = data;
    if (dataDir == null) {
      String env = environment.env().get("NIGHTSHIFT_DATA_DIR");
      dataDir = env != null && !env.isBlank() ? Path.of(env.trim()) : Defaults.dataDir(environment.userHome());
    }
    Duration trial = Launcher.TRIAL_LIMIT;
    String envTrial = environment.env().get("NIGHTSHIFT_LAUNCHER_TRIAL_SECONDS");
    if (trialSeconds != null) {
      trial = Duration.ofSeconds(trialSeconds);
    } else if (envTrial != null && envTrial.trim().matches("[0-9]{1,6}")) {
      trial = Duration.ofSeconds(Long.parseLong(envTrial.trim()));
    }
    Logging.toConsole(false);
    LauncherDir dir = LauncherDir.under(dataDir.toAbsolutePath().normalize());
    Launcher launcher = new Launcher(dir, agentArgs, Launcher.javaStarter(), trial);
    launcher.adopt(ownJar(), AgentVersion.current());
    Thread hook = new Thread(launcher::stop, "nightshift-launcher-shutdown");
    if (environment.installShutdownHooks()) {
      Runtime.getRuntime().addShutdownHook(hook);
    }
    int code = launcher.run();
    if (environment.installShutdownHooks()) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // shutting down
      }
    }
    return code;
  }

  /** The jar this launcher runs from; null when it runs from classes. */
  private static Path ownJar() {
    try {
      var source = LaunchCommand.class.getProtectionDomain().getCodeSource();
      Path p = source == null ? null : Path.of(source.getLocation().toURI());
      return p != null && p.toString().endsWith(".jar") ? p : null;
    } catch (java.net.URISyntaxException | RuntimeException e) {
      return null;
    }
  }
}
