package dev.nightshift.server.install;

import dev.nightshift.protocol.AgentOffer;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Which workers are offered the agent this server serves (self-update, docs/operations.md "Upgrading agents"):
 * the admin's rollout mode, kept in the one row of {@code agent_rollout}, and the offer a heartbeat reply carries.
 */
@Component
public class AgentRollout {
  /** Where the agent downloads the offered jar, relative to its server URL. */
  static final String JAR_PATH = "/install/" + InstallController.JAR;

  /** Who is offered the served agent. */
  @io.swagger.v3.oas.annotations.media.Schema(name = "AgentRolloutMode")
  public enum Mode {
    /** Nobody: every agent keeps its version. */
    HOLD,
    /** The workers whose id falls into the first {@code share} percent of a stable hash. */
    CANARY,
    /** Every worker whose agent runs another version. */
    ALL
  }

  /**
   * The rollout as set.
   *
   * @param share percent of workers (0-100) a CANARY rollout offers the update to
   * @param changedBy who set it last; null: never changed since installation
   */
  public record Setting(Mode mode, int share, String changedBy, Instant changedAt) {}

  private final JdbcClient jdbc;
  private final AgentDownload agent;
  private final Clock clock;

  AgentRollout(JdbcClient jdbc, AgentDownload agent, Clock clock) {
    this.jdbc = jdbc;
    this.agent = agent;
    this.clock = clock;
  }

  public Setting current() {
    return jdbc.sql("SELECT mode, share_percent, changed_by, changed_at FROM agent_rollout WHERE id = 1")
        .query(
            (rs, n) ->
                new Setting(
                    Mode.valueOf(rs.getString("mode")),
                    rs.getInt("share_percent"),
                    rs.getString("changed_by"),
                    Times.instant(rs, "changed_at")))
        .optional()
        .orElse(new Setting(Mode.HOLD, 0, null, null));
  }

  /** Sets the rollout; {@code share} is required for CANARY and kept (for a later CANARY) otherwise. */
  Setting set(String mode, Integer share, String by) {
    if (mode == null || mode.isBlank()) {
      throw ProblemException.badRequest("mode is required: one of " + Arrays.toString(Mode.values()));
    }
    Mode m;
    try {
      m = Mode.valueOf(mode.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw ProblemException.badRequest(
          "unknown mode '" + dev.nightshift.server.system.Text.printable(cut(mode)) + "': one of "
              + Arrays.toString(Mode.values()));
    }
    if (share == null && m == Mode.CANARY) {
      throw ProblemException.badRequest("a CANARY rollout needs share: the percent of workers (0-100) to update first");
    }
    if (share != null && (share < 0 || share > 100)) {
      throw ProblemException.badRequest("share must be a percent from 0 to 100, not " + share);
    }
    jdbc.sql(
            """
            UPDATE agent_rollout SET mode = ?, share_percent = COALESCE(?, share_percent), changed_by = ?,
              changed_at = ? WHERE id = 1""")
        .params(m.name(), share, by, Times.db(clock.instant()))
        .update();
    return current();
  }

  /** The rollout in one line, for the dashboard. */
  public String summary() {
    String served = agent.served().map(AgentDownload.Served::version).orElse(null);
    if (served == null) {
      return "Agent updates: this server serves no agent jar.";
    }
    Setting s = current();
    String who =
        switch (s.mode()) {
          case HOLD -> "held: no agent is offered it";
          case CANARY -> "canary: offered to " + s.share() + " % of the workers";
          case ALL -> "offered to every worker running another version";
        };
    return "Agent " + served + " " + who + " (PUT /api/v1/agent-rollout"
        + (s.changedBy() == null ? "" : "; set by " + s.changedBy()) + ").";
  }

  /**
   * The offer for a heartbeat of this worker, or null: the agent says no version (it predates self-update), runs
   * the served one already, refused it before, or the rollout does not admit this worker; or there is no served
   * agent.
   */
  public AgentOffer offerFor(String workerId, String agentVersion, String refused) {
    if (agentVersion == null || agentVersion.isBlank()) {
      return null;
    }
    AgentDownload.Served served = agent.served().orElse(null);
    if (served == null || served.version().equals(agentVersion) || served.version().equals(refused)) {
      return null;
    }
    Setting s = current();
    boolean admitted =
        switch (s.mode()) {
          case HOLD -> false;
          case CANARY -> bucket(workerId) < s.share();
          case ALL -> true;
        };
    return admitted ? new AgentOffer(served.version(), served.sha256(), JAR_PATH) : null;
  }

  /** The worker's place (0-99) in canary order: a hash of its id, the same on every server and every call. */
  static int bucket(String workerId) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(workerId.getBytes(StandardCharsets.UTF_8));
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = (v << 8) | (h[i] & 0xff);
      }
      return (int) Long.remainderUnsigned(v, 100);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String cut(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
