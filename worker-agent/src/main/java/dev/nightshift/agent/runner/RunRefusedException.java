package dev.nightshift.agent.runner;

import dev.nightshift.protocol.RefusalReason;

/**
 * The agent will not run a lease (unsigned or wrongly signed code, a missing entry point, a raw command where only
 * signed entry points run): the attempt ends REFUSED with the reason, and nothing ran.
 */
public class RunRefusedException extends WorkspaceException {
  private final RefusalReason reason;

  /**
   * @param reason the machine-readable reason
   * @param explanation one line saying what is wrong and what to do about it
   */
  public RunRefusedException(RefusalReason reason, String explanation) {
    super(reason.error(explanation), "nightshift-agent: refused to run: " + reason.error(explanation)
        + "\nnightshift-agent: nothing ran; the batch is not retried (another agent trusting the same keys would"
        + " refuse it too)\n", null);
    this.reason = reason;
  }

  public RefusalReason reason() {
    return reason;
  }
}
