package dev.nightshift.agent.config;

import java.nio.file.Path;
import java.time.Duration;

/** Every default of the agent, in one place. */
public final class Defaults {
  /** Batches run at once. */
  public static final int SLOTS = 1;
  /** The most slots an agent may declare. */
  public static final int MAX_SLOTS = 256;
  /** The idle policy of {@code once} (for {@code run} see IdlePolicies.defaultForRun): run whenever there is work. */
  public static final String IDLE_POLICY = "always";
  /** The desktop policy starts work after this long without keyboard or mouse input (HTCondor's 15 minutes). */
  public static final Duration INPUT_IDLE = Duration.ofMinutes(15);
  /** The desktop policy's limit on CPU used by other programs, as a fraction of the machine (0.3 per core). */
  public static final double MAX_LOAD = 0.3;
  /** How long a batch stays suspended after the owner returns before it is killed and given back. */
  public static final Duration VACATE_AFTER = Duration.ofMinutes(10);
  /** A status file older than this means no agent updates it. */
  public static final Duration STATUS_STALE = Duration.ofMinutes(2);
  /** How long a claim long-polls the server (the design's ~30 s). */
  public static final Duration CLAIM_WAIT = Duration.ofSeconds(30);
  /** How long {@code once} waits for work before deciding there is none. */
  public static final Duration ONCE_CLAIM_WAIT = Duration.ofSeconds(2);
  /** Extra time the HTTP client allows a long-polling claim beyond its wait. */
  public static final Duration CLAIM_TIMEOUT_MARGIN = Duration.ofSeconds(15);
  /**
   * How much result output one claim carries at most; more results wait for the next claim (a single larger result
   * still goes alone).
   */
  public static final long CLAIM_REPORT_BYTES = 8L * 1024 * 1024;
  /** Timeout of every other protocol request. */
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  /** Timeout for opening a connection to the server. */
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /**
   * How long an agent that staged an update lets its running batches finish before it restarts anyway, giving
   * their leases back.
   */
  public static final Duration UPDATE_FINISH_LIMIT = Duration.ofMinutes(30);
  /** Heartbeat interval until the server names its own. */
  public static final Duration HEARTBEAT = Duration.ofSeconds(30);
  /** Largest stdout an attempt may produce (and largest per-attempt log file kept). */
  public static final long MAX_OUTPUT_BYTES = 64L * 1024 * 1024;
  /** How much of stderr's tail is reported with a result. */
  public static final int LOG_TAIL_BYTES = 64 * 1024;
  /** First back-off ceiling after an error. */
  public static final Duration BACKOFF_BASE = Duration.ofSeconds(1);
  /** Back-off never waits longer than this. */
  public static final Duration BACKOFF_CAP = Duration.ofSeconds(60);
  /** How long the loop rests after a claim came back empty (guards against a server that does not long-poll). */
  public static final Duration NO_WORK_PAUSE = Duration.ofSeconds(1);
  /** How often the loop re-asks the idle policy while it vetoes work, or while draining. */
  public static final Duration IDLE_RECHECK = Duration.ofSeconds(5);
  /** Consecutive server errors after which {@code once} gives up (its spool is re-sent next time). */
  public static final int ONCE_MAX_ERRORS = 5;
  /** Checkouts of recent commits kept in {@code <data>/code/checkouts}. */
  public static final int CODE_CACHE = 4;
  /** The most checkouts an agent may keep. */
  public static final int MAX_CODE_CACHE = 64;
  /** How long a Git fetch may wait on the network before it fails. */
  public static final Duration GIT_TIMEOUT = Duration.ofSeconds(60);
  /** Per-attempt stderr logs kept in {@code <data>/logs/attempts}. */
  public static final int ATTEMPT_LOGS_KEPT = 200;
  /** Name of the config file looked for in the data directory. */
  public static final String CONFIG_FILE_NAME = "agent.properties";

  private Defaults() {}

  /** The data directory when none is configured: {@code ~/.nightshift/agent}. */
  public static Path dataDir(String userHome) {
    return Path.of(userHome, ".nightshift", "agent");
  }
}
