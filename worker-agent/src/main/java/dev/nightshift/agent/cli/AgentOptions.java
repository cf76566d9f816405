package dev.nightshift.agent.cli;

import dev.nightshift.agent.config.SettingsResolver.Key;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The flags shared by {@code run} and {@code once}. Values are resolved (and checked) by SettingsResolver. */
final class AgentOptions {
  @Option(
      names = "--server",
      paramLabel = "URL",
      description = "Control server base URL, e.g. https://nightshift.example.com."
          + " Env NIGHTSHIFT_SERVER; file key 'server'. Default: the server the agent enrolled with.")
  String server;

  @Option(
      names = "--enrollment-token",
      paramLabel = "TOKEN",
      description = "Enrollment token from an admin; needed to enroll (once) and to enroll again if the agent token"
          + " is revoked. Prefer --enrollment-token-file (flags show in process lists, and the environment of a"
          + " process is readable by its OS user); env NIGHTSHIFT_ENROLLMENT_TOKEN; file key 'enrollment-token'."
          + " Never passed to scripts.")
  String enrollmentToken;

  @Option(
      names = "--enrollment-token-file",
      paramLabel = "FILE",
      description = "A file holding the enrollment token on its first line (keep it 0600, owned by whoever"
          + " installs the agent). Env NIGHTSHIFT_ENROLLMENT_TOKEN_FILE; file key 'enrollment-token-file'.")
  String enrollmentTokenFile;

  @Option(
      names = "--allow-insecure-http",
      description = "Accept a plain http:// server that is not on this machine: tokens, code and results then"
          + " cross the network unencrypted and can be changed on the way. Env NIGHTSHIFT_ALLOW_INSECURE_HTTP;"
          + " file key 'allow-insecure-http' (true/false). Default: only https://, or http:// to localhost.")
  boolean allowInsecureHttp;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description = "Agent data directory: identity, lock, spool, logs, work, code."
          + " Env NIGHTSHIFT_DATA_DIR; file key 'data-dir'. Default: ~/.nightshift/agent.")
  String dataDir;

  @Option(
      names = "--slots",
      paramLabel = "N",
      description = "Batches run at once (1-256). Env NIGHTSHIFT_SLOTS; file key 'slots'. Default: 1.")
  String slots;

  @Option(
      names = "--name",
      paramLabel = "NAME",
      description = "Worker name shown to operators. Env NIGHTSHIFT_NAME; file key 'name'. Default: host name.")
  String name;

  @Option(
      names = "--label",
      paramLabel = "KEY=VALUE",
      description = "A capability jobs can require, e.g. os=linux; repeat for more."
          + " Env NIGHTSHIFT_LABELS / file key 'labels' take a comma-separated list.")
  List<String> labels = new ArrayList<>();

  @Option(
      names = "--idle-policy",
      paramLabel = "POLICY",
      description = "When this machine may run work: 'always' (VMs, servers, tests: only the windows and the"
          + " owner's pause count) or 'desktop' (also needs no user input for --input-idle, little CPU used by other"
          + " programs, mains power). Env NIGHTSHIFT_IDLE_POLICY; file key 'idle-policy'. Default: 'run' uses"
          + " desktop where a user session is detected (Windows, macOS, Linux with DISPLAY/WAYLAND_DISPLAY), else"
          + " always; 'once' uses always. See docs/idle-policy.md.")
  String idlePolicy;

  @Option(
      names = "--window",
      paramLabel = "WINDOW",
      description = "When work may run, local time, e.g. \"Mon-Fri 20:00-06:00\" (spans midnight) or"
          + " \"Sat-Sun 00:00-24:00\"; repeat for more. Env NIGHTSHIFT_WINDOW / file key 'window' take a"
          + " ;-separated list. Default: any time.")
  List<String> windows = new ArrayList<>();

  @Option(
      names = "--input-idle",
      paramLabel = "DURATION",
      description = "desktop policy: how long without keyboard or mouse input before work starts, e.g. 15m."
          + " Env NIGHTSHIFT_INPUT_IDLE; file key 'input-idle'. Default: 15m.")
  String inputIdle;

  @Option(
      names = "--max-load",
      paramLabel = "FRACTION",
      description = "desktop policy: the most CPU other programs may use, per core (0.3 = 30% of the machine)."
          + " Env NIGHTSHIFT_MAX_LOAD; file key 'max-load'. Default: 0.3.")
  String maxLoad;

  @Option(
      names = "--run-on-battery",
      description = "desktop policy: also run on battery power. Env NIGHTSHIFT_RUN_ON_BATTERY; file key"
          + " 'run-on-battery' (true/false). Default: false.")
  boolean runOnBattery;

  @Option(
      names = "--vacate-after",
      paramLabel = "DURATION",
      description = "How long a batch stays suspended when the machine stops being idle before it is killed and"
          + " given back to the server (requeued at once, not counted as a failure), e.g. 10m; 0 vacates at once."
          + " Env NIGHTSHIFT_VACATE_AFTER; file key 'vacate-after'. Default: 10m.")
  String vacateAfter;

  @Option(
      names = "--host-idle-file",
      paramLabel = "FILE",
      description = "Agents in VMs: a file a host-side helper rewrites at least every minute with the host user's"
          + " idle seconds (docs/idle-policy.md). Env NIGHTSHIFT_HOST_IDLE_FILE; file key 'host-idle-file'.")
  String hostIdleFile;

  @Option(
      names = "--claim-wait",
      paramLabel = "DURATION",
      description = "How long a claim waits on the server for work (long poll), e.g. 30s, 500ms, 2m."
          + " Env NIGHTSHIFT_CLAIM_WAIT; file key 'claim-wait'. Default: 30s ('once' uses 2s).")
  String claimWait;

  @Option(
      names = "--max-output-bytes",
      paramLabel = "SIZE",
      description = "Largest stdout (result) of one batch, e.g. 64MiB; larger fails the attempt."
          + " Env NIGHTSHIFT_MAX_OUTPUT_BYTES; file key 'max-output-bytes'. Default: 64MiB.")
  String maxOutputBytes;

  @Option(
      names = "--log-tail-bytes",
      paramLabel = "SIZE",
      description = "How much of the end of stderr is reported as the attempt's log, e.g. 64KiB."
          + " Env NIGHTSHIFT_LOG_TAIL_BYTES; file key 'log-tail-bytes'. Default: 64KiB.")
  String logTailBytes;

  @Option(
      names = "--code-cache",
      paramLabel = "N",
      description = "How many checkouts of recent commits to keep (1-64); checkouts in use are never removed."
          + " Env NIGHTSHIFT_CODE_CACHE; file key 'code-cache'. Default: 4.")
  String codeCache;

  @Option(
      names = "--ca-file",
      paramLabel = "PEM",
      description = "Trust the CA certificate(s) in this PEM file for https:// servers (a private CA or a"
          + " self-signed server certificate) instead of the JDK's defaults; used for the protocol and for Git."
          + " Env NIGHTSHIFT_CA_FILE; file key 'ca-file'.")
  String caFile;

  @Option(
      names = "--data-source",
      paramLabel = "JDBC-URL",
      description = "A local reference-data database (a replica, docs/reference-data.md), e.g."
          + " jdbc:mariadb://127.0.0.1/ref: its replication state, lag and GTID position go with every heartbeat and"
          + " scripts get NIGHTSHIFT_DATA_SOURCE_URL/_USER/_PASSWORD. Env NIGHTSHIFT_DATA_SOURCE; file key"
          + " 'data-source'.")
  String dataSource;

  @Option(
      names = "--data-source-user",
      paramLabel = "USER",
      description = "The data source's user. Env NIGHTSHIFT_DATA_SOURCE_USER; file key 'data-source-user'.")
  String dataSourceUser;

  @Option(
      names = "--data-source-password-file",
      paramLabel = "FILE",
      description = "A file holding the data source's password (never on the command line)."
          + " Env NIGHTSHIFT_DATA_SOURCE_PASSWORD_FILE; file key 'data-source-password-file'.")
  String dataSourcePasswordFile;

  @Option(
      names = "--script-user",
      paramLabel = "USER",
      description = "Linux, agent running as root (a system service): run scripts as this low-privilege OS user, so"
          + " they cannot read the agent's token, spool or logs (docs/security.md#script-confinement). Env"
          + " NIGHTSHIFT_SCRIPT_USER; file key 'script-user'. Default: scripts run as the agent's user.")
  String scriptUser;

  @Option(
      names = "--script-memory",
      paramLabel = "SIZE",
      description = "Linux: each attempt's memory limit (a control group of its own; over it, the kernel kills the"
          + " script and the attempt fails saying so), e.g. 2GiB. Env NIGHTSHIFT_SCRIPT_MEMORY; file key"
          + " 'script-memory'. Default: none.")
  String scriptMemory;

  @Option(
      names = "--script-cpus",
      paramLabel = "N",
      description = "Linux: each attempt's CPU limit in CPUs (1.5 = one and a half cores; throttled above it)."
          + " Env NIGHTSHIFT_SCRIPT_CPUS; file key 'script-cpus'. Default: none.")
  String scriptCpus;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Java properties file with any of the keys above. Env NIGHTSHIFT_CONFIG."
          + " Default: <data-dir>/agent.properties if it exists. Precedence: flags > environment > file > defaults.")
  Path config;

  @Option(names = {"-v", "--verbose"}, description = "Log debug details.")
  boolean verbose;

  Map<Key, String> flags() {
    Map<Key, String> m = new EnumMap<>(Key.class);
    put(m, Key.SERVER, server);
    put(m, Key.ENROLLMENT_TOKEN, enrollmentToken);
    put(m, Key.DATA_DIR, dataDir);
    put(m, Key.SLOTS, slots);
    put(m, Key.NAME, name);
    put(m, Key.LABELS, labels.isEmpty() ? null : String.join(",", labels));
    put(m, Key.IDLE_POLICY, idlePolicy);
    put(m, Key.CLAIM_WAIT, claimWait);
    put(m, Key.MAX_OUTPUT_BYTES, maxOutputBytes);
    put(m, Key.LOG_TAIL_BYTES, logTailBytes);
    put(m, Key.CODE_CACHE, codeCache);
    put(m, Key.WINDOW, windows.isEmpty() ? null : String.join(";", windows));
    put(m, Key.INPUT_IDLE, inputIdle);
    put(m, Key.MAX_LOAD, maxLoad);
    put(m, Key.RUN_ON_BATTERY, runOnBattery ? "true" : null);
    put(m, Key.VACATE_AFTER, vacateAfter);
    put(m, Key.HOST_IDLE_FILE, hostIdleFile);
    put(m, Key.CA_FILE, caFile);
    put(m, Key.DATA_SOURCE, dataSource);
    put(m, Key.DATA_SOURCE_USER, dataSourceUser);
    put(m, Key.DATA_SOURCE_PASSWORD_FILE, dataSourcePasswordFile);
    put(m, Key.ENROLLMENT_TOKEN_FILE, enrollmentTokenFile);
    put(m, Key.ALLOW_INSECURE_HTTP, allowInsecureHttp ? "true" : null);
    put(m, Key.SCRIPT_USER, scriptUser);
    put(m, Key.SCRIPT_MEMORY, scriptMemory);
    put(m, Key.SCRIPT_CPUS, scriptCpus);
    return m;
  }

  private static void put(Map<Key, String> m, Key k, String v) {
    if (v != null) {
      m.put(k, v);
    }
  }
}
