package dev.nightshift.agent.data;

import dev.nightshift.protocol.DataState;
import dev.nightshift.protocol.ScriptEnv;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The agent's local reference-data database (a replica): probed on its own daemon thread every few seconds with
 * short timeouts, so a broken data source never holds up a heartbeat or a claim; {@link #current()} only reads the
 * last result. Also what the script is told about it ({@link #scriptEnv(DataState)}).
 */
public final class ReferenceData implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ReferenceData.class.getName());

  /** How often the probe runs. */
  public static final Duration PROBE_INTERVAL = Duration.ofSeconds(5);
  /** Connect and read timeout of one probe. */
  public static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);
  /** A result older than this is not trusted: the probe is stuck. */
  public static final Duration STALE_AFTER = Duration.ofSeconds(30);

  /**
   * Where the data is and how to log in.
   *
   * @param url the JDBC URL ({@code jdbc:mariadb://127.0.0.1/ref}; for MySQL servers too, the MariaDB driver
   *     speaks both)
   * @param user the user name, or null
   * @param password the password (read from the password file), or null
   */
  public record Settings(String url, String user, String password) {
    @Override
    public String toString() {
      return "DataSource[url=" + url + ", user=" + user + ", password=" + (password == null ? "none" : "***") + "]";
    }
  }

  private final Settings settings;
  private final Clock clock;
  private volatile DataState last = DataState.failed("not probed yet");
  private volatile Instant lastAt;
  private ScheduledExecutorService executor;

  public ReferenceData(Settings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
    this.lastAt = clock.instant();
  }

  /** Starts probing every {@link #PROBE_INTERVAL} on a daemon thread. */
  public synchronized ReferenceData start() {
    if (executor == null) {
      executor =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "reference-data-probe");
                t.setDaemon(true);
                return t;
              });
      executor.scheduleWithFixedDelay(this::probeNow, 0, PROBE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }
    return this;
  }

  /** The last probe's result, or a failure naming the stuck probe when it is older than {@link #STALE_AFTER}. */
  public DataState current() {
    Duration age = Duration.between(lastAt, clock.instant());
    if (age.compareTo(STALE_AFTER) > 0) {
      return DataState.failed("the data source has not answered for " + age.toSeconds() + " s");
    }
    return last;
  }

  /** Probes once on the calling thread (the probe thread, or a test). Never throws. */
  public DataState probeNow() {
    DataState state;
    try {
      state = probe();
    } catch (Throwable t) {
      state = DataState.failed(oneLine(t));
    }
    if (state.error() != null && !state.error().equals(last.error())) {
      LOG.warning("reference data: " + state.error());
    }
    last = state;
    lastAt = clock.instant();
    return state;
  }

  private DataState probe() throws SQLException {
    Properties props = new Properties();
    if (settings.user() != null) {
      props.setProperty("user", settings.user());
    }
    if (settings.password() != null) {
      props.setProperty("password", settings.password());
    }
    props.setProperty("connectTimeout", Long.toString(PROBE_TIMEOUT.toMillis()));
    props.setProperty("socketTimeout", Long.toString(PROBE_TIMEOUT.toMillis()));
    try (Connection c = DriverManager.getConnection(probeUrl(settings.url()), props);
        Statement s = c.createStatement()) {
      s.setQueryTimeout((int) Math.max(1, PROBE_TIMEOUT.toSeconds()));
      boolean mariadb = scalar(s, "SELECT VERSION()").toLowerCase(Locale.ROOT).contains("mariadb");
      Map<String, String> status = replicaStatus(s);
      String position;
      if (mariadb) {
        position = scalar(s, "SELECT @@GLOBAL.gtid_slave_pos");
        if (position == null || position.isBlank()) {
          position = scalar(s, "SELECT @@GLOBAL.gtid_current_pos");
        }
      } else {
        position = scalar(s, "SELECT @@GLOBAL.gtid_executed");
      }
      return parse(status, position);
    }
  }

  /**
   * The URL the probe connects with: the MariaDB driver also speaks to MySQL servers, and takes a {@code jdbc:mysql:}
   * URL (the one scripts using MySQL Connector/J want) only when told so in the URL.
   */
  static String probeUrl(String url) {
    if (!url.startsWith("jdbc:mysql:") || url.contains("permitMysqlScheme")) {
      return url;
    }
    return url + (url.contains("?") ? "&" : "?") + "permitMysqlScheme";
  }

  /** {@code SHOW REPLICA STATUS} (MariaDB 10.5+, MySQL 8.0.22+), else {@code SHOW SLAVE STATUS}; empty: no replica. */
  private static Map<String, String> replicaStatus(Statement s) throws SQLException {
    SQLException first;
    try {
      return row(s, "SHOW REPLICA STATUS");
    } catch (SQLException e) {
      first = e;
    }
    try {
      return row(s, "SHOW SLAVE STATUS");
    } catch (SQLException e) {
      e.addSuppressed(first);
      throw e;
    }
  }

  private static Map<String, String> row(Statement s, String sql) throws SQLException {
    Map<String, String> row = new HashMap<>();
    try (ResultSet rs = s.executeQuery(sql)) {
      if (rs.next()) {
        ResultSetMetaData md = rs.getMetaData();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          row.put(md.getColumnLabel(i), rs.getString(i));
        }
      }
    }
    return row;
  }

  private static String scalar(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  /**
   * What a replica status row and a GTID position say: replicating when both threads run (MariaDB and MySQL before
   * 8.0.22 name them {@code Slave_*}, later MySQL {@code Replica_*}); the lag from {@code Seconds_Behind_Master} or
   * {@code Seconds_Behind_Source}. An empty row means the database is no replica.
   */
  public static DataState parse(Map<String, String> status, String position) {
    String pos = position == null ? null : position.replaceAll("\\s+", "");
    if (pos != null && pos.isEmpty()) {
      pos = null;
    }
    if (pos != null && pos.length() > DataState.MAX_POSITION) {
      pos = pos.substring(0, DataState.MAX_POSITION);
    }
    if (status == null || status.isEmpty()) {
      return new DataState(false, null, pos, "no replication configured (SHOW REPLICA STATUS is empty)");
    }
    String io = first(status, "Replica_IO_Running", "Slave_IO_Running");
    String sql = first(status, "Replica_SQL_Running", "Slave_SQL_Running");
    String lag = first(status, "Seconds_Behind_Source", "Seconds_Behind_Master");
    boolean replicating = "Yes".equalsIgnoreCase(io) && "Yes".equalsIgnoreCase(sql);
    Long lagSeconds = null;
    if (lag != null && !lag.isBlank() && !lag.equalsIgnoreCase("NULL")) {
      try {
        lagSeconds = Long.parseLong(lag.trim());
      } catch (NumberFormatException e) {
        lagSeconds = null;
      }
    }
    String error = null;
    if (!replicating) {
      String lastError = first(status, "Last_SQL_Error", "Last_IO_Error", "Last_Error");
      error = "replication stopped (IO thread " + (io == null ? "?" : io) + ", SQL thread " + (sql == null ? "?" : sql)
          + ")" + (lastError == null || lastError.isBlank() ? "" : ": " + lastError);
      if (error.length() > 500) {
        error = error.substring(0, 499) + "…";
      }
    }
    return new DataState(replicating, lagSeconds, pos, error);
  }

  private static String first(Map<String, String> status, String... names) {
    for (String n : names) {
      String v = status.get(n);
      if (v != null && !v.isBlank()) {
        return v;
      }
    }
    return null;
  }

  /**
   * The script's variables: the URL, user and password of the data source, and the position the data had when
   * the script started (when known).
   */
  public Map<String, String> scriptEnv(DataState atStart) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put(ScriptEnv.DATA_SOURCE_URL, settings.url());
    if (settings.user() != null) {
      env.put(ScriptEnv.DATA_SOURCE_USER, settings.user());
    }
    if (settings.password() != null) {
      env.put(ScriptEnv.DATA_SOURCE_PASSWORD, settings.password());
    }
    if (atStart != null && atStart.position() != null) {
      env.put(ScriptEnv.DATA_POSITION, atStart.position());
    }
    return env;
  }

  public Settings settings() {
    return settings;
  }

  private static String oneLine(Throwable t) {
    String m = t.getMessage() == null ? t.toString() : t.getMessage();
    m = "cannot probe " + "the data source: " + m.replaceAll("\\s+", " ");
    return m.length() > 500 ? m.substring(0, 499) + "…" : m;
  }

  @Override
  public synchronized void close() {
    if (executor != null) {
      executor.shutdownNow();
      executor = null;
    }
  }
}
