package dev.nightshift.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code nightshift} command: the admin API for people at a terminal and for scripts. */
@Command(
    name = "nightshift",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Submit, watch and steer Nightshift jobs; manage workers, code releases and API tokens.",
    subcommands = {
      JobCommands.Submit.class,
      JobCommands.Watch.class,
      JobCommands.Results.class,
      JobCommands.Failures.class,
      JobCommands.ListJobs.class,
      JobCommands.Show.class,
      JobCommands.Cancel.class,
      JobCommands.Pause.class,
      JobCommands.Resume.class,
      JobCommands.Retry.class,
      AdminCommands.Workers.class,
      AdminCommands.Code.class,
      AdminCommands.Tokens.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Server and credentials: --server/--token/--user, else NIGHTSHIFT_SERVER, NIGHTSHIFT_TOKEN, NIGHTSHIFT_USER,",
      "NIGHTSHIFT_PASSWORD, else ~/.config/nightshift/cli.properties (or NIGHTSHIFT_CLI_CONFIG).",
      "Exit codes: 0 ok, 1 failed (refused, job failed or cancelled, bad file), 2 usage, 3 server unreachable,",
      "4 credentials or role refused."
    })
final class Main implements Runnable {
  @Option(
      names = "--server",
      scope = ScopeType.INHERIT,
      paramLabel = "URL",
      description = "Server URL (default: NIGHTSHIFT_SERVER, the config file, else http://127.0.0.1:8080).")
  String server;

  @Option(
      names = "--token",
      scope = ScopeType.INHERIT,
      paramLabel = "TOKEN",
      description = "API token nst_... sent as Bearer (default: NIGHTSHIFT_TOKEN, the config file).")
  String token;

  @Option(
      names = "--user",
      scope = ScopeType.INHERIT,
      paramLabel = "NAME",
      description = "User for HTTP Basic; the password comes from NIGHTSHIFT_PASSWORD or the config file.")
  String user;

  @Option(
      names = "--config",
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description = "Config file (default: NIGHTSHIFT_CLI_CONFIG, else ~/.config/nightshift/cli.properties).")
  String configFile;

  @Option(names = "--json", scope = ScopeType.INHERIT, description = "Print the server's JSON answers.")
  boolean json;

  final PrintStream out;
  final PrintStream err;
  private ApiClient api;

  Main(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(new CommandLine(this), "give a command (see nightshift --help)");
  }

  ApiClient api() {
    if (api == null) {
      String home = System.getProperty("user.home");
      Config config =
          Config.resolve(
              new Config.Flags(server, token, user, configFile),
              System.getenv(),
              home == null ? null : Path.of(home),
              err);
      api = new ApiClient(config);
    }
    return api;
  }

  boolean stdoutTerminal() {
    return Terminal.isTerminal(1);
  }

  boolean stderrTerminal() {
    return Terminal.isTerminal(2);
  }

  /** Prints the server's JSON answer as it came, one document per line. */
  void printJson(String body) {
    out.println(body.strip());
    out.flush();
  }

  static CommandLine commandLine(Main main) {
    CommandLine cl = new CommandLine(main);
    cl.setOut(new PrintWriter(main.out, true));
    cl.setErr(new PrintWriter(main.err, true));
    cl.setExecutionExceptionHandler(
        (ex, line, parsed) -> {
          if (ex instanceof CliException c) {
            main.err.println("nightshift: " + c.getMessage());
            main.err.flush();
            return c.exitCode;
          }
          main.err.println("nightshift: " + ex);
          ex.printStackTrace(main.err);
          return CliException.FAILURE;
        });
    return cl;
  }

  public static void main(String[] args) {
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
        StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true,
        StandardCharsets.UTF_8);
    int code = commandLine(new Main(out, err)).execute(args);
    out.flush();
    System.exit(code);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"nightshift " + (v == null ? "(development build)" : v)};
    }
  }
}
