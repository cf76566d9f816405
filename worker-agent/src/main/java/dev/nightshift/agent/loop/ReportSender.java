package dev.nightshift.agent.loop;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.spool.Reporter;
import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * Sends the outbox's due results outside the loop's own claims: in a report-only claim (no slots asked, no wait), for
 * a result that ends while the loop is parked in a long poll, and with the separate complete / fail calls for the
 * results a server does not answer on claims. Never throws.
 */
final class ReportSender {
  private static final Logger LOG = Logger.getLogger(ReportSender.class.getName());

  private final AgentProtocol protocol;
  private final Reporter reporter;
  private final Enrollment enrollment;
  private final ReportOutbox outbox;
  private final Instructions instructions;
  private final BiConsumer<List<LeaseRef>, String> release;
  private final BooleanSupplier stopping;

  /**
   * @param release gives leases back to the server, with a reason
   * @param stopping true once the agent shuts down: no separate calls then (the results stay spooled)
   */
  ReportSender(
      AgentProtocol protocol, Enrollment enrollment, ReportOutbox outbox, Instructions instructions,
      BiConsumer<List<LeaseRef>, String> release, BooleanSupplier stopping) {
    this.protocol = protocol;
    this.reporter = new Reporter(protocol);
    this.enrollment = enrollment;
    this.outbox = outbox;
    this.instructions = instructions;
    this.release = release;
    this.stopping = stopping;
  }

  /**
   * Sends every due report in a claim asking for no batch and waiting for none, then the separate ones. Their slots
   * stay taken while they are on their way: the outbox keeps them until answered ({@link Slots#reserve}).
   */
  void sendReportsOnly() {
    Identity id = enrollment.current().orElse(null);
    if (id == null) {
      return;
    }
    ReportOutbox.Batch reports = outbox.takeDue();
    if (reports.isEmpty()) {
      return;
    }
    try {
      ClaimResponse r = protocol.claim(new ClaimRequest(0, 0, reports.completedOrNull(), reports.failedOrNull()));
      outbox.answered(reports, r == null ? null : r.reports());
      if (r != null && r.leases() != null && !r.leases().isEmpty()) {
        release.accept(r.leases().stream().map(Lease::ref).collect(Collectors.toList()), "more leases than free slots");
      }
      if (r != null) {
        instructions.releaseNamed(r.release());
      }
    } catch (ProtocolException e) {
      outbox.failed(reports, e);
      if (e.isUnauthorized()) {
        enrollment.refused(id);
      } else {
        LOG.warning("report-only claim failed (" + e.getMessage() + "); the results stay spooled and are retried");
      }
    } catch (Throwable t) {
      outbox.failed(reports, t);
      LOG.log(Level.WARNING, "report-only claim failed unexpectedly; the results stay spooled and are retried", t);
    }
    sendSeparately(id);
  }

  /** Sends the due results the server did not answer on a claim, one complete/fail call each. */
  void sendSeparately(Identity id) {
    if (id == null || stopping.getAsBoolean()) {
      return;
    }
    outbox.sendSeparately(reporter, () -> enrollment.refused(id));
  }
}
