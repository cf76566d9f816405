package dev.nightshift.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Where the server and the credentials come from. Each setting is taken from, in this order: the command-line
 * option, the environment ({@code NIGHTSHIFT_SERVER}, {@code NIGHTSHIFT_TOKEN}, {@code NIGHTSHIFT_USER},
 * {@code NIGHTSHIFT_PASSWORD}), the config file ({@code NIGHTSHIFT_CLI_CONFIG}, else
 * {@code ~/.config/nightshift/cli.properties}: keys {@code server}, {@code token}, {@code user}, {@code password}),
 * and for the server a default of {@code http://127.0.0.1:8080}. A token wins over a user and password.
 */
record Config(String server, String token, String user, String password, Path file) {
  static final String DEFAULT_SERVER = "http://127.0.0.1:8080";

  /** What the command line gave (null where not given). */
  record Flags(String server, String token, String user, String configFile) {}

  static Config resolve(Flags flags, Map<String, String> env, Path home, PrintStream warnings) {
    Path file = configFile(flags, env, home);
    Properties props = new Properties();
    if (file != null && Files.isRegularFile(file)) {
      try (Reader in = Files.newBufferedReader(file)) {
        props.load(in);
      } catch (IOException e) {
        throw CliException.failure("cannot read the config file " + file + ": " + e.getMessage());
      }
      warnIfShared(file, props, warnings);
    } else if (file != null && (flags.configFile() != null || env.get("NIGHTSHIFT_CLI_CONFIG") != null)) {
      throw CliException.usage("config file " + file + " does not exist");
    }
    String server = first(flags.server(), env.get("NIGHTSHIFT_SERVER"), props.getProperty("server"), DEFAULT_SERVER);
    String token = first(flags.token(), env.get("NIGHTSHIFT_TOKEN"), props.getProperty("token"), null);
    String user = first(flags.user(), env.get("NIGHTSHIFT_USER"), props.getProperty("user"), null);
    String password = first(null, env.get("NIGHTSHIFT_PASSWORD"), props.getProperty("password"), null);
    while (server.endsWith("/")) {
      server = server.substring(0, server.length() - 1);
    }
    if (!server.startsWith("http://") && !server.startsWith("https://")) {
      throw CliException.usage("server '" + server + "' must start with http:// or https://");
    }
    return new Config(server, token, user, password, file);
  }

  private static Path configFile(Flags flags, Map<String, String> env, Path home) {
    if (flags.configFile() != null) {
      return Path.of(flags.configFile());
    }
    String fromEnv = env.get("NIGHTSHIFT_CLI_CONFIG");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return Path.of(fromEnv);
    }
    return home == null ? null : home.resolve(".config/nightshift/cli.properties");
  }

  /** A file holding a token or password must be readable by its owner only. */
  private static void warnIfShared(Path file, Properties props, PrintStream warnings) {
    if (props.getProperty("token") == null && props.getProperty("password") == null) {
      return;
    }
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
        warnings.println(
            "nightshift: warning: " + file + " holds a secret and others can read it; run: chmod 600 " + file);
      }
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system: nothing to check
    }
  }

  private static String first(String a, String b, String c, String fallback) {
    for (String s : new String[] {a, b, c}) {
      if (s != null && !s.isBlank()) {
        return s.trim();
      }
    }
    return fallback;
  }
}
