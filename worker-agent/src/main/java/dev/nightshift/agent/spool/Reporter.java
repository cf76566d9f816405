package dev.nightshift.agent.spool;

import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReportResponse;
import java.util.logging.Logger;

/** Sends one spooled report and classifies the server's answer: delivered, dropped for good, or to retry. */
public final class Reporter {
  private static final Logger LOG = Logger.getLogger(Reporter.class.getName());

  /** What became of a send. */
  public enum Verdict {
    /** ACCEPTED or DUPLICATE: delete the spool file. */
    DELIVERED,
    /** A definitive refusal (409 stale lease, 403 not ours, 404, other 4xx): delete the spool file. */
    DROPPED,
    /** The server could not be reached or failed: keep the file, try again after a back-off. */
    RETRY,
    /** 401: the agent token was refused; enroll again, then retry. */
    UNAUTHORIZED
  }

  private final AgentProtocol protocol;

  public Reporter(AgentProtocol protocol) {
    this.protocol = protocol;
  }

  public Verdict send(SpooledReport report) {
    try {
      ReportResponse r = report.complete() != null ? protocol.complete(report.complete()) : protocol.fail(report.fail());
      LOG.info(report.describe() + ": result " + (r == null || r.status() == null ? "acknowledged" : r.status())
          + " by the server");
      return Verdict.DELIVERED;
    } catch (ProtocolException e) {
      if (e.isUnauthorized()) {
        return Verdict.UNAUTHORIZED;
      }
      if (e.isTransient() || isIdentityConflict(e)) {
        LOG.warning(report.describe() + ": report not delivered, will retry: " + e.getMessage());
        return Verdict.RETRY;
      }
      LOG.warning(report.describe() + ": result dropped: " + why(e.status()) + " (" + e.getMessage() + ")");
      return Verdict.DROPPED;
    } catch (RuntimeException e) {
      LOG.warning(report.describe() + ": report not delivered, will retry: " + e);
      return Verdict.RETRY;
    }
  }

  /**
   * A 409 refusing this agent process (another process uses the same identity), not the report: nothing was
   * recorded, so the result must be kept. The server's other 409s (stale lease, wrong commit, conflicting result)
   * are about the report and final.
   */
  public static boolean isIdentityConflict(ProtocolException e) {
    return e.status() == 409 && e.getMessage() != null && e.getMessage().contains("already using this identity");
  }

  private static String why(int status) {
    return switch (status) {
      case 409 -> "the lease is stale (the batch was reaped, cancelled or finished elsewhere)";
      case 403 -> "the lease is not this agent's";
      case 404 -> "the server does not know this batch";
      case 413 -> "the server refused the result as too large";
      default -> "the server refused it with HTTP " + status;
    };
  }
}
