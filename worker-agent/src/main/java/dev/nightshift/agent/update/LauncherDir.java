package dev.nightshift.agent.update;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The files the launcher and the agent it starts share, named once: {@code <data>/agent/} holds
 * {@code versions/<version>.jar}, {@code launcher.properties} (current, previous, trial), {@code staged} (the agent:
 * "restart into this version"), {@code heartbeat-ok} (the agent: "my first heartbeat succeeded") and {@code refused}
 * (the launcher: "this version was rolled back").
 */
public record LauncherDir(Path root) {
  /** The environment variable through which the launcher tells the agent it starts where this directory is. */
  public static final String ENV = "NIGHTSHIFT_LAUNCHER_DIR";

  /** What may name a version, and so a file. */
  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+\\-]{0,99}");

  /** The launcher's directory under an agent data dir. */
  public static LauncherDir under(Path dataDir) {
    return new LauncherDir(dataDir.resolve("agent"));
  }

  public static boolean validVersion(String v) {
    return v != null && VERSION.matcher(v).matches();
  }

  public Path versions() {
    return root.resolve("versions");
  }

  public Path jar(String version) {
    if (!validVersion(version)) {
      throw new IllegalArgumentException("not a valid agent version: " + version);
    }
    return versions().resolve(version + ".jar");
  }

  public Path state() {
    return root.resolve("launcher.properties");
  }

  public Path staged() {
    return root.resolve("staged");
  }

  public Path heartbeatOk() {
    return root.resolve("heartbeat-ok");
  }

  /** The version of the jar the launcher was last installed with (taken up once). */
  public Path installed() {
    return root.resolve("installed");
  }

  public Path refused() {
    return root.resolve("refused");
  }

  /** The first line of a file, trimmed; null when it is missing or empty. */
  static String read(Path file) {
    try {
      if (!Files.isRegularFile(file)) {
        return null;
      }
      String s = Files.readString(file, StandardCharsets.UTF_8).strip();
      int nl = s.indexOf('\n');
      s = (nl < 0 ? s : s.substring(0, nl)).strip();
      return s.isEmpty() ? null : s;
    } catch (IOException e) {
      return null;
    }
  }

  static void write(Path file, String line) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, line + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
