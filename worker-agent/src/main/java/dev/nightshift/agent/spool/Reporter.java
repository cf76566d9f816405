package dev.nightshift.agent.spool;

import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.ProblemReasons;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.protocol.ReportResponse;
import java.util.logging.Logger;

/** Sends one spooled report and classifies the server's answer: delivered, dropped for good, or to retry. */
public final class Reporter {
  private static final Logger LOG = Logger.getLogger(Reporter.class.getName());

  /** What became of a send. */
  public enum Verdict {
    /** ACCEPTED or DUPLICATE: delete the spool file. */
    DELIVERED,
    /**
     * The server said, with a machine-readable reason, that this lease's result can never be accepted (STALE,
     * NOT_YOURS, WRONG_COMMIT, CONFLICT, UNKNOWN_BATCH): delete the spool file.
     */
    DROPPED,
    /**
     * The server refused the report itself (INVALID, or 413 too large): sending it again cannot help, so it is
     * moved aside ({@code .rejected}) for the operator, never deleted.
     */
    REJECTED,
    /**
     * Anything else (unreachable, 5xx, 429, an identity conflict, a 4xx without a reason such as a body cut short
     * by the network): nothing was recorded; keep the file, try again after a back-off.
     */
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
      Verdict v = verdict(e);
      switch (v) {
        case DROPPED -> LOG.warning(report.describe() + ": result dropped: " + e.reason() + " (" + e.getMessage() + ")");
        case REJECTED -> LOG.severe(report.describe() + ": result refused by the server (" + e.getMessage()
            + "); kept aside in the spool as .rejected");
        default -> LOG.warning(report.describe() + ": report not delivered, will retry: " + e.getMessage());
      }
      return v;
    } catch (RuntimeException e) {
      LOG.warning(report.describe() + ": report not delivered, will retry: " + e);
      return Verdict.RETRY;
    }
  }

  /** What a refused report call means for the spooled result: only a machine-readable reason ends it. */
  public static Verdict verdict(ProtocolException e) {
    if (e.isUnauthorized()) {
      return Verdict.UNAUTHORIZED;
    }
    ReportStatus s = ProblemReasons.reportStatus(e.reason());
    if (s == ReportStatus.INVALID || (s == null && e.status() == 413)) {
      return Verdict.REJECTED;
    }
    if (s != null && s.isFinal() && !s.isRecorded()) {
      return Verdict.DROPPED;
    }
    return s != null && s.isRecorded() ? Verdict.DELIVERED : Verdict.RETRY;
  }
}
