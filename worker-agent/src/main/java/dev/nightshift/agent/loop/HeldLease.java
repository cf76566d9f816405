package dev.nightshift.agent.loop;

import dev.nightshift.agent.runner.ScriptRun;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.protocol.LeaseRef;
import java.nio.file.Path;
import java.time.Instant;

/**
 * A lease this agent holds: running, or finished with its result spooled and not yet answered by the server.
 * Every held lease is named in the heartbeat, so its lease stays renewed until the report is answered.
 */
final class HeldLease {
  enum Phase {
    RUNNING,
    REPORTING
  }

  final LeaseRef ref;
  final int attempt;
  final ScriptRun run; // null for reports found in the spool at startup
  final Backoff backoff;
  volatile Phase phase;
  volatile SpooledReport report; // in memory only until the first send; re-read from the spool after that
  volatile Path spoolFile;
  volatile Instant notBefore = Instant.MIN;
  volatile String cancelReason;
  volatile boolean stoppedForShutdown;
  private boolean sending;
  private boolean finished;

  HeldLease(LeaseRef ref, int attempt, ScriptRun run, Backoff backoff, Phase phase) {
    this.ref = ref;
    this.attempt = attempt;
    this.run = run;
    this.backoff = backoff;
    this.phase = phase;
  }

  String describe() {
    return "batch " + ref.batchId() + " attempt " + attempt;
  }

  /** Claims the right to send the report; false while another thread sends it or once it was answered. */
  synchronized boolean beginSend() {
    if (sending || finished) {
      return false;
    }
    sending = true;
    return true;
  }

  /** Ends a send; {@code retryAt} (when not null) is when the report may be sent again. */
  synchronized void endSend(Instant retryAt) {
    if (retryAt != null) {
      notBefore = retryAt;
    }
    sending = false;
  }

  /** When the next send is scheduled, once a failed send has ended; empty while sending or never failed. */
  synchronized java.util.Optional<Instant> scheduledRetry() {
    return sending || finished || notBefore.equals(Instant.MIN)
        ? java.util.Optional.empty()
        : java.util.Optional.of(notBefore);
  }

  /** The server answered for good (or the result was dropped): never send again. */
  synchronized void finish() {
    finished = true;
  }
}
