package dev.nightshift.agent.runner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How scripts are run.
 *
 * @param runsDir where stdout of running attempts is written
 * @param attemptLogsDir where each attempt's stderr is kept
 * @param maxOutputBytes the largest stdout accepted (and the per-attempt log file's cap)
 * @param logTailBytes how much of stderr's tail is kept for the report
 * @param shell the platform shell prefix the command is appended to ({@code sh -c}, {@code cmd.exe /c}), preceded
 *     by a low-priority launcher such as {@code nice -n 10} where one exists
 * @param baseEnv the environment inherited by scripts, before the agent's own variables are removed
 * @param confinement the OS user and control-group limits scripts run under ({@link Confinement#none()}: neither)
 */
public record RunnerConfig(
    Path runsDir,
    Path attemptLogsDir,
    long maxOutputBytes,
    int logTailBytes,
    List<String> shell,
    Map<String, String> baseEnv,
    Confinement confinement) {

  public RunnerConfig {
    shell = List.copyOf(shell);
    baseEnv = Map.copyOf(baseEnv);
    java.util.Objects.requireNonNull(confinement, "confinement");
  }

  /** Scripts unconfined: they run as the agent's user, without limits of their own. */
  public RunnerConfig(
      Path runsDir, Path attemptLogsDir, long maxOutputBytes, int logTailBytes, List<String> shell,
      Map<String, String> baseEnv) {
    this(runsDir, attemptLogsDir, maxOutputBytes, logTailBytes, shell, baseEnv, Confinement.none());
  }

  public RunnerConfig withConfinement(Confinement c) {
    return new RunnerConfig(runsDir, attemptLogsDir, maxOutputBytes, logTailBytes, shell, baseEnv, c);
  }

  /** The shell of this platform: {@code cmd.exe /c} on Windows, else {@code [nice -n 10] sh -c}. */
  public static List<String> platformShell(String osName) {
    if (osName.toLowerCase(Locale.ROOT).startsWith("windows")) {
      return List.of("cmd.exe", "/c");
    }
    for (String nice : new String[] {"/usr/bin/nice", "/bin/nice"}) {
      if (Files.isExecutable(Path.of(nice))) {
        return List.of(nice, "-n", "10", "sh", "-c");
      }
    }
    return List.of("sh", "-c");
  }
}
