package dev.nightshift.agent.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command line: {@code run}, {@code once}, {@code status}, {@code pause}, {@code resume}, {@code version}, and
 * {@code launch} (the self-updating launcher around {@code run}).
 */
@Command(
    name = "nightshift-agent",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.class,
    description = "Nightshift worker agent: runs batches from a Nightshift control server on this machine.",
    synopsisSubcommandLabel = "COMMAND",
    commandListHeading = "%nCommands:%n",
    footer = {
      "",
      "Settings come from flags, then NIGHTSHIFT_* environment variables, then a properties file"
          + " (--config FILE or <data-dir>/agent.properties), then defaults. See 'nightshift-agent run --help'."
    })
public final class AgentCli implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private AgentCli() {}

  /** The command line with every subcommand, reading its surroundings from {@code environment}. */
  public static CommandLine commandLine(CliEnvironment environment) {
    CommandLine cli = new CommandLine(new AgentCli());
    cli.addSubcommand("run", new RunCommand(environment));
    cli.addSubcommand("once", new OnceCommand(environment));
    cli.addSubcommand("status", new StatusCommand(environment));
    cli.addSubcommand("pause", new PauseCommand(environment));
    cli.addSubcommand("resume", new ResumeCommand(environment));
    cli.addSubcommand("version", new VersionCommand());
    cli.addSubcommand("launch", new LaunchCommand(environment));
    cli.setParameterExceptionHandler(
        (ex, args) -> {
          CommandLine c = ex.getCommandLine();
          c.getErr().println("nightshift-agent: " + ex.getMessage());
          c.getErr().println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for more information.");
          c.getErr().flush();
          return c.getCommandSpec().exitCodeOnInvalidInput();
        });
    return cli;
  }

  /** Without a subcommand: show the usage and fail, so a bare invocation in cron is noticed. */
  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command: run, once, status, pause, resume or version");
  }
}
