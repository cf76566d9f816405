package dev.nightshift.agent.loop;

import dev.nightshift.agent.runner.ScriptRun;
import dev.nightshift.protocol.LeaseRef;

/**
 * A lease whose batch runs on a slot of this agent. Once its result is spooled it moves to the {@link ReportOutbox}
 * (in one step, {@link Slots#finished}: every heartbeat names it and its lease stays renewed until answered).
 */
final class HeldLease {
  final LeaseRef ref;
  final int attempt;
  final ScriptRun run;
  volatile String cancelReason;
  volatile boolean stoppedForShutdown;

  HeldLease(LeaseRef ref, int attempt, ScriptRun run) {
    this.ref = ref;
    this.attempt = attempt;
    this.run = run;
  }

  String describe() {
    return "batch " + ref.batchId() + " attempt " + attempt;
  }
}
