package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.DataDir;
import dev.nightshift.agent.config.Defaults;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What {@code status}, {@code pause} and {@code resume} share: they act on the data directory of an agent on this
 * machine, whether or not that agent runs, through files the agent reads and writes every idle check.
 */
abstract class LocalAgentCommand implements Callable<Integer> {
  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description = "The agent's data directory. Env NIGHTSHIFT_DATA_DIR. Default: ~/.nightshift/agent.")
  String dataDir;

  @Spec CommandSpec spec;
  final CliEnvironment environment;

  LocalAgentCommand(CliEnvironment environment) {
    this.environment = environment;
  }

  DataDir data() {
    String d = dataDir;
    if (d == null) {
      d = environment.env().get("NIGHTSHIFT_DATA_DIR");
    }
    Path root = d == null || d.isBlank() ? Defaults.dataDir(environment.userHome()) : Path.of(d.trim());
    return new DataDir(root.toAbsolutePath().normalize());
  }

  /** The pid of the agent holding the data directory's lock (from its pid file), if that process is alive. */
  static Optional<Long> runningPid(DataDir data) {
    try {
      long pid = Long.parseLong(Files.readString(data.pidFile(), StandardCharsets.US_ASCII).trim());
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(ProcessHandle::pid);
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  int usageError(String message) {
    PrintWriter err = spec.commandLine().getErr();
    err.println("nightshift-agent: " + message);
    err.println("Try 'nightshift-agent " + spec.name() + " --help' for more information.");
    err.flush();
    return AgentCommand.EXIT_USAGE;
  }
}
