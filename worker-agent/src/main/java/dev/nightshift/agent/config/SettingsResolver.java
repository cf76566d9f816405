package dev.nightshift.agent.config;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import dev.nightshift.agent.idle.IdlePolicies;
import dev.nightshift.agent.idle.TimeWindow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Resolves {@link AgentSettings} from its sources in precedence order: command-line flags, then the environment
 * ({@code NIGHTSHIFT_*}), then the config file ({@code --config FILE}, else {@code <data-dir>/agent.properties} if
 * present), then {@link Defaults}. A setting is taken whole from the first source that has it.
 */
public final class SettingsResolver {

  /** Every setting with its config-file key and environment variable. */
  public enum Key {
    SERVER("server"),
    ENROLLMENT_TOKEN("enrollment-token"),
    DATA_DIR("data-dir"),
    SLOTS("slots"),
    NAME("name"),
    LABELS("labels"),
    IDLE_POLICY("idle-policy"),
    CLAIM_WAIT("claim-wait"),
    MAX_OUTPUT_BYTES("max-output-bytes"),
    LOG_TAIL_BYTES("log-tail-bytes"),
    CODE_CACHE("code-cache"),
    WINDOW("window"),
    INPUT_IDLE("input-idle"),
    MAX_LOAD("max-load"),
    RUN_ON_BATTERY("run-on-battery"),
    VACATE_AFTER("vacate-after"),
    HOST_IDLE_FILE("host-idle-file"),
    CA_FILE("ca-file"),
    DATA_SOURCE("data-source"),
    DATA_SOURCE_USER("data-source-user"),
    DATA_SOURCE_PASSWORD_FILE("data-source-password-file"),

    ENROLLMENT_TOKEN_FILE("enrollment-token-file"),
    ALLOW_INSECURE_HTTP("allow-insecure-http"),
    SCRIPT_USER("script-user"),
    SCRIPT_MEMORY("script-memory"),
    SCRIPT_CPUS("script-cpus");

    private final String fileKey;

    Key(String fileKey) {
      this.fileKey = fileKey;
    }

    public String fileKey() {
      return fileKey;
    }

    public String envName() {
      return "NIGHTSHIFT_" + fileKey.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    static Key ofFileKey(String key) {
      for (Key k : values()) {
        if (k.fileKey.equals(key)) {
          return k;
        }
      }
      return null;
    }
  }

  /** Environment variable naming a config file, like {@code --config}. */
  public static final String CONFIG_ENV = "NIGHTSHIFT_CONFIG";

  private final Map<String, String> env;
  private final String userHome;
  private final Function<Map<String, String>, String> hostname;

  /**
   * @param env the process environment (injected for tests)
   * @param userHome the user's home directory, for the default data directory
   * @param hostname the default worker name, given the environment
   */
  public SettingsResolver(
      Map<String, String> env, String userHome, Function<Map<String, String>, String> hostname) {
    this.env = Map.copyOf(env);
    this.userHome = userHome;
    this.hostname = hostname;
  }

  /** A value and where it came from, so error messages can name the source to fix. */
  private record Sourced(String value, String source) {}

  /**
   * @param flags values given on the command line (labels as a comma-separated list); absent keys were not given
   * @param configFlag the {@code --config} file, or null
   * @param verbose whether debug logging was asked for
   * @throws SettingsException when a value is malformed or an explicit config file is missing
   */
  public AgentSettings resolve(Map<Key, String> flags, Path configFlag, boolean verbose) {
    Map<Key, Sourced> chosen = new EnumMap<>(Key.class);
    flags.forEach(
        (k, v) -> {
          if (v != null) {
            chosen.put(k, new Sourced(v, "--" + flagName(k)));
          }
        });
    for (Key k : Key.values()) {
      String v = env.get(k.envName());
      if (!chosen.containsKey(k) && v != null && !v.isBlank()) {
        chosen.put(k, new Sourced(v, k.envName()));
      }
    }
    Path configFile = configFile(configFlag, chosen.get(Key.DATA_DIR));
    if (configFile != null) {
      readConfigFile(configFile)
          .forEach((k, v) -> chosen.putIfAbsent(k, new Sourced(v, k.fileKey() + " in " + configFile)));
    }

    Path dataDir =
        chosen.containsKey(Key.DATA_DIR)
            ? Path.of(chosen.get(Key.DATA_DIR).value().trim())
            : Defaults.dataDir(userHome);
    return new AgentSettings(
        server(chosen.get(Key.SERVER)),
        enrollmentToken(chosen.get(Key.ENROLLMENT_TOKEN), chosen.get(Key.ENROLLMENT_TOKEN_FILE)),
        dataDir.toAbsolutePath().normalize(),
        chosen.containsKey(Key.SLOTS) ? slots(chosen.get(Key.SLOTS)) : Defaults.SLOTS,
        chosen.containsKey(Key.NAME) ? text(chosen.get(Key.NAME)) : hostname.apply(env),
        chosen.containsKey(Key.LABELS) ? labels(chosen.get(Key.LABELS)) : Map.of(),
        idle(chosen),
        chosen.containsKey(Key.CLAIM_WAIT) ? claimWait(chosen.get(Key.CLAIM_WAIT)) : Defaults.CLAIM_WAIT,
        chosen.containsKey(Key.MAX_OUTPUT_BYTES)
            ? size(chosen.get(Key.MAX_OUTPUT_BYTES), Long.MAX_VALUE)
            : Defaults.MAX_OUTPUT_BYTES,
        chosen.containsKey(Key.LOG_TAIL_BYTES)
            ? (int) size(chosen.get(Key.LOG_TAIL_BYTES), 16L * 1024 * 1024)
            : Defaults.LOG_TAIL_BYTES,
        chosen.containsKey(Key.CODE_CACHE) ? codeCache(chosen.get(Key.CODE_CACHE)) : Defaults.CODE_CACHE,
        verbose,
        chosen.containsKey(Key.CA_FILE) ? caFile(chosen.get(Key.CA_FILE)) : null,
        dataSource(chosen),
        chosen.containsKey(Key.ALLOW_INSECURE_HTTP) && bool(chosen.get(Key.ALLOW_INSECURE_HTTP)),
        confinement(chosen));
  }

  /** Script confinement (Linux): the OS user scripts run as, and each attempt's memory and CPU limits. */
  private static dev.nightshift.agent.runner.Confinement.Settings confinement(Map<Key, Sourced> chosen) {
    Sourced user = chosen.get(Key.SCRIPT_USER);
    String name = user == null ? null : user.value().trim();
    if (name != null && !name.matches("[a-z_][a-z0-9_.-]{0,31}\\$?")) {
      throw invalid(user, "expected the name of an OS user such as nightshift-script");
    }
    long memory = chosen.containsKey(Key.SCRIPT_MEMORY)
        ? size(chosen.get(Key.SCRIPT_MEMORY), 1L << 50) : 0;
    if (memory > 0 && memory < 4L * 1024 * 1024) {
      throw invalid(chosen.get(Key.SCRIPT_MEMORY), "expected at least 4MiB, e.g. 512MiB or 2GiB");
    }
    double cpus = 0;
    Sourced c = chosen.get(Key.SCRIPT_CPUS);
    if (c != null) {
      try {
        cpus = Double.parseDouble(c.value().trim());
      } catch (NumberFormatException e) {
        cpus = -1;
      }
      if (!(cpus >= 0.01 && cpus <= 1024)) {
        throw invalid(c, "expected a number of CPUs from 0.01 to 1024, such as 1 or 1.5");
      }
    }
    return new dev.nightshift.agent.runner.Confinement.Settings(name, memory, cpus);
  }

  /** The reference-data database: a JDBC URL, a user and a password read from a file (never a flag). */
  private static dev.nightshift.agent.data.ReferenceData.Settings dataSource(Map<Key, Sourced> chosen) {
    Sourced url = chosen.get(Key.DATA_SOURCE);
    if (url == null) {
      for (Key k : new Key[] {Key.DATA_SOURCE_USER, Key.DATA_SOURCE_PASSWORD_FILE}) {
        if (chosen.containsKey(k)) {
          throw invalid(chosen.get(k), "it needs a data source too: give --data-source jdbc:mariadb://HOST/DB");
        }
      }
      return null;
    }
    String u = url.value().trim();
    if (!u.startsWith("jdbc:mariadb:") && !u.startsWith("jdbc:mysql:")) {
      throw invalid(url, "expected a JDBC URL such as jdbc:mariadb://127.0.0.1/ref");
    }
    if (u.matches("(?i).*[?&]password=.*")) {
      throw invalid(url, "keep the password out of the URL: put it in a file named by --data-source-password-file");
    }
    String password = null;
    Sourced file = chosen.get(Key.DATA_SOURCE_PASSWORD_FILE);
    if (file != null) {
      Path p = Path.of(file.value().trim()).toAbsolutePath().normalize();
      try {
        password = Files.readString(p).strip();
      } catch (java.io.IOException | RuntimeException e) {
        throw invalid(file, "expected a readable file holding the data source's password; cannot read " + p);
      }
    }
    Sourced user = chosen.get(Key.DATA_SOURCE_USER);
    return new dev.nightshift.agent.data.ReferenceData.Settings(
        u, user == null ? null : user.value().trim(), password);
  }

  /**
   * The enrollment token, given itself or (better: flags show in process lists, and a process's environment is
   * readable by its OS user in {@code /proc/<pid>/environ}) as a file holding it on its first line.
   */
  private static String enrollmentToken(Sourced token, Sourced file) {
    if (token != null && file != null) {
      throw new SettingsException(
          "both " + token.source() + " and " + file.source() + " give the enrollment token: keep only one"
              + " (preferably the file)");
    }
    if (file == null) {
      return text(token);
    }
    Path p = Path.of(file.value().trim()).toAbsolutePath().normalize();
    try {
      String first = Files.readString(p, StandardCharsets.UTF_8).strip().lines().findFirst().orElse("").strip();
      if (first.isEmpty()) {
        throw invalid(file, "the file " + p + " is empty; write the enrollment token on its first line");
      }
      return first;
    } catch (IOException | java.io.UncheckedIOException e) {
      throw invalid(file, "expected a readable file holding the enrollment token; cannot read " + p);
    }
  }

  private static IdleSettings idle(Map<Key, Sourced> chosen) {
    IdleSettings d = IdleSettings.defaults();
    String policy = null;
    if (chosen.containsKey(Key.IDLE_POLICY)) {
      Sourced s = chosen.get(Key.IDLE_POLICY);
      try {
        policy = IdlePolicies.checkName(s.value());
      } catch (SettingsException e) {
        throw new SettingsException(e.getMessage() + " (from " + s.source() + ")");
      }
    }
    List<TimeWindow> windows = new ArrayList<>();
    if (chosen.containsKey(Key.WINDOW)) {
      Sourced s = chosen.get(Key.WINDOW);
      for (String w : s.value().split(";")) {
        if (!w.isBlank()) {
          try {
            windows.add(TimeWindow.parse(w));
          } catch (SettingsException e) {
            throw new SettingsException(e.getMessage() + " (from " + s.source() + ")");
          }
        }
      }
    }
    return new IdleSettings(
        policy,
        windows,
        chosen.containsKey(Key.INPUT_IDLE) ? duration(chosen.get(Key.INPUT_IDLE), Duration.ZERO, Duration.ofDays(1))
            : d.inputIdle(),
        chosen.containsKey(Key.MAX_LOAD) ? fraction(chosen.get(Key.MAX_LOAD)) : d.maxLoad(),
        chosen.containsKey(Key.RUN_ON_BATTERY) ? bool(chosen.get(Key.RUN_ON_BATTERY)) : d.runOnBattery(),
        chosen.containsKey(Key.VACATE_AFTER)
            ? duration(chosen.get(Key.VACATE_AFTER), Duration.ZERO, Duration.ofDays(7))
            : d.vacateAfter(),
        chosen.containsKey(Key.HOST_IDLE_FILE) ? Path.of(chosen.get(Key.HOST_IDLE_FILE).value().trim()) : null);
  }

  private static Duration duration(Sourced s, Duration min, Duration max) {
    Duration d = parseDuration(s.value().trim());
    if (d == null || d.compareTo(min) < 0 || d.compareTo(max) > 0) {
      throw invalid(s, "expected a duration such as 90s, 15m or 1h");
    }
    return d;
  }

  private static double fraction(Sourced s) {
    try {
      String v = s.value().trim();
      double f = v.endsWith("%") ? Double.parseDouble(v.substring(0, v.length() - 1).trim()) / 100 : Double.parseDouble(v);
      if (f > 0 && f <= 1) {
        return f;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw invalid(s, "expected a load per core above 0 and at most 1, such as 0.3 or 30%");
  }

  private static boolean bool(Sourced s) {
    String v = s.value().trim().toLowerCase(Locale.ROOT);
    if (v.equals("true") || v.equals("yes") || v.equals("1")) {
      return true;
    }
    if (v.equals("false") || v.equals("no") || v.equals("0")) {
      return false;
    }
    throw invalid(s, "expected true or false");
  }

  /** The command-line flag of a setting ({@code labels} is given one {@code --label} at a time). */
  public static String flagName(Key k) {
    return k == Key.LABELS ? "label" : k.fileKey();
  }

  private Path configFile(Path configFlag, Sourced dataDirSource) {
    Path explicit = configFlag;
    if (explicit == null && env.get(CONFIG_ENV) != null && !env.get(CONFIG_ENV).isBlank()) {
      explicit = Path.of(env.get(CONFIG_ENV).trim());
    }
    if (explicit != null) {
      if (!Files.isRegularFile(explicit)) {
        throw new SettingsException("config file " + explicit + " not found: fix --config (or " + CONFIG_ENV + ")");
      }
      return explicit;
    }
    Path dataDir = dataDirSource != null ? Path.of(dataDirSource.value().trim()) : Defaults.dataDir(userHome);
    Path inDataDir = new DataDir(dataDir).configFile();
    return Files.isRegularFile(inDataDir) ? inDataDir : null;
  }

  private static Map<Key, String> readConfigFile(Path file) {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw new SettingsException("cannot read config file " + file + ": " + e.getMessage());
    }
    Map<Key, String> values = new EnumMap<>(Key.class);
    for (String name : p.stringPropertyNames()) {
      Key k = Key.ofFileKey(name.trim());
      if (k == null) {
        throw new SettingsException(
            "unknown key '" + name + "' in config file " + file + "; known keys: "
                + Arrays.stream(Key.values()).map(Key::fileKey).collect(Collectors.joining(", ")));
      }
      String v = p.getProperty(name);
      if (v != null && !v.isBlank()) {
        values.put(k, v);
      }
    }
    return values;
  }

  private static String text(Sourced s) {
    if (s == null || s.value().isBlank()) {
      return null;
    }
    return s.value().trim();
  }

  private static URI server(Sourced s) {
    if (s == null) {
      return null;
    }
    String v = s.value().trim();
    try {
      URI uri = new URI(v);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw invalid(s, "expected an http:// or https:// URL such as https://nightshift.example.com");
  }

  private static int slots(Sourced s) {
    try {
      int n = Integer.parseInt(s.value().trim());
      if (n >= 1 && n <= Defaults.MAX_SLOTS) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw invalid(s, "expected a whole number from 1 to " + Defaults.MAX_SLOTS);
  }

  private static int codeCache(Sourced s) {
    try {
      int n = Integer.parseInt(s.value().trim());
      if (n >= 1 && n <= Defaults.MAX_CODE_CACHE) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw invalid(s, "expected a whole number from 1 to " + Defaults.MAX_CODE_CACHE);
  }

  private static Path caFile(Sourced s) {
    Path p = Path.of(s.value().trim()).toAbsolutePath().normalize();
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw invalid(s, "expected a readable PEM file of CA certificates; " + p + " is not one");
    }
    return p;
  }

  private static Map<String, String> labels(Sourced s) {
    Map<String, String> labels = new LinkedHashMap<>();
    for (String part : s.value().split(",")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new SettingsException(
            "invalid label '" + p + "' for " + s.source() + ": expected KEY=VALUE such as os=linux");
      }
      labels.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
    }
    return labels;
  }

  private static Duration claimWait(Sourced s) {
    Duration d = parseDuration(s.value().trim());
    if (d == null || d.compareTo(Duration.ofMillis(100)) < 0 || d.compareTo(Duration.ofMinutes(10)) > 0) {
      throw invalid(s, "expected a duration from 100ms to 10m such as 30s, 500ms or 2m");
    }
    return d;
  }

  /** Parses {@code 30} (seconds), {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h} or ISO {@code PT30S}. */
  public static Duration parseDuration(String v) {
    try {
      String t = v.toLowerCase(Locale.ROOT);
      if (t.startsWith("pt") || t.startsWith("p")) {
        return Duration.parse(v.toUpperCase(Locale.ROOT));
      }
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
      }
      if (t.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1).trim()));
      }
      if (t.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1).trim()));
      }
      if (t.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1).trim()));
      }
      return Duration.ofSeconds(Long.parseLong(t));
    } catch (NumberFormatException | DateTimeParseException | ArithmeticException e) {
      return null;
    }
  }

  private static long size(Sourced s, long max) {
    Long n = parseSize(s.value().trim());
    if (n == null || n < 1 || n > max) {
      throw invalid(s, "expected a size from 1 byte to " + max + " bytes such as 65536, 64KiB or 64MiB");
    }
    return n;
  }

  /** Parses {@code 1024}, {@code 64k}/{@code 64KiB}, {@code 64m}/{@code 64MiB}, {@code 1g}/{@code 1GiB}. */
  static Long parseSize(String v) {
    String t = v.toLowerCase(Locale.ROOT).replace("ib", "").replace("b", "").trim();
    long unit = 1;
    if (t.endsWith("k")) {
      unit = 1024;
    } else if (t.endsWith("m")) {
      unit = 1024 * 1024;
    } else if (t.endsWith("g")) {
      unit = 1024L * 1024 * 1024;
    }
    if (unit > 1) {
      t = t.substring(0, t.length() - 1).trim();
    }
    try {
      return Math.multiplyExact(Long.parseLong(t), unit);
    } catch (NumberFormatException | ArithmeticException e) {
      return null;
    }
  }

  private static SettingsException invalid(Sourced s, String expected) {
    return new SettingsException("invalid value '" + s.value().trim() + "' for " + s.source() + ": " + expected);
  }
}
