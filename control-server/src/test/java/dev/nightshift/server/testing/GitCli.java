package dev.nightshift.server.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The stock git command-line client, run without any user configuration or prompts. */
public final class GitCli {
  private final Path home;

  public GitCli(Path home) throws IOException {
    this.home = Files.createDirectories(home);
  }

  /** What a git command printed and how it exited. */
  public record Result(int exit, String output) {}

  public Result run(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("git");
    command.add("-c");
    command.add("user.name=Test");
    command.add("-c");
    command.add("user.email=test@example.com");
    command.add("-c");
    command.add("init.defaultBranch=main");
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("HOME", home.toString());
    pb.environment().put("GIT_TERMINAL_PROMPT", "0");
    pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    pb.environment().put("GIT_ASKPASS", "/bin/false");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("git " + String.join(" ", args) + " hung");
    }
    return new Result(p.exitValue(), out);
  }

  /** Runs a git command that must succeed. */
  public String ok(Path dir, String... args) throws IOException, InterruptedException {
    Result r = run(dir, args);
    if (r.exit() != 0) {
      throw new AssertionError("git " + String.join(" ", args) + " failed (" + r.exit() + "):\n" + r.output());
    }
    return r.output();
  }
}
