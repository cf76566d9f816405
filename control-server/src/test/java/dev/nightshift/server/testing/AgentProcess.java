package dev.nightshift.server.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The built agent jar running as a real process. */
public final class AgentProcess implements AutoCloseable {
  public static final Path JAR = Path.of("../worker-agent/target/nightshift-agent.jar").toAbsolutePath();
  public final Process process;
  public final Path log;
  public final Path dataDir;

  private AgentProcess(Process process, Path log, Path dataDir) {
    this.process = process;
    this.log = log;
    this.dataDir = dataDir;
  }

  /**
   * Starts {@code nightshift-agent <mode> --server ... --enrollment-token ... --data-dir ... <extra>}, with {@code
   * --allow-unsigned} unless {@code extra} names a {@code --trusted-key}.
   */
  public static AgentProcess start(String mode, String server, Path dataDir, String logName, String... extra)
      throws IOException {
    Files.createDirectories(dataDir);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx96m");
    command.add("-jar");
    command.add(JAR.toString());
    command.add(mode);
    command.add("--server");
    command.add(server);
    command.add("--enrollment-token");
    command.add(Http.ENROLLMENT_TOKEN);
    command.add("--data-dir");
    command.add(dataDir.toString());
    command.addAll(List.of(extra));
    if (List.of(extra).stream().noneMatch(x -> x.startsWith("--trusted-key"))) {
      command.add("--allow-unsigned"); // almost every test pushes unsigned code; signed ones pass --trusted-key
    }
    Path log = dataDir.resolveSibling(logName);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("NIGHTSHIFT_"));
    // no graphical session: 'run' then defaults to the idle policy 'always', whatever display the build has
    pb.environment().remove("DISPLAY");
    pb.environment().remove("WAYLAND_DISPLAY");
    pb.environment().remove("XDG_SESSION_TYPE");
    return new AgentProcess(pb.start(), log, dataDir);
  }

  /** What a one-shot agent command ({@code status}, {@code pause}, {@code resume}) printed, and its exit status. */
  public record CliResult(int exitCode, String output) {}

  /** Runs {@code nightshift-agent <args>} to its end (at most 60 s), stdout and stderr together. */
  public static CliResult cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx64m");
    command.add("-jar");
    command.add(JAR.toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("NIGHTSHIFT_"));
    Process p = pb.start();
    p.getOutputStream().close();
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("nightshift-agent " + String.join(" ", args) + " did not end within 60 s");
    }
    return new CliResult(p.exitValue(), output);
  }

  public String logText() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** SIGKILL: the agent gets no chance to release its leases. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  public int waitFor(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      throw new IllegalStateException("agent still running after " + seconds + " s");
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
