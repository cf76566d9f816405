package dev.nightshift.agent.loop;

import dev.nightshift.agent.config.AgentSettings;
import dev.nightshift.agent.config.Defaults;
import java.time.Duration;

/**
 * The loop's timing and size.
 *
 * @param slots batches run at once
 * @param claimWait how long a claim may long-poll
 * @param heartbeat heartbeat interval until the server names one
 * @param backoffBase first back-off ceiling
 * @param backoffCap largest back-off
 * @param noWorkPause rest after an empty claim
 * @param idleRecheck rest while the idle policy vetoes or the server drains
 * @param onceMaxErrors consecutive errors after which {@code once} gives up
 * @param vacateAfter how long a batch stays suspended (idle policy says not now) before it is vacated
 * @param slotClaims a slot thread whose batch ended claims at once for the free slots (no wait) instead of waiting
 *     for the loop's next claim; off, the loop thread is the only claimer (tests that drive ticks by hand)
 */
public record LoopConfig(
    int slots,
    Duration claimWait,
    Duration heartbeat,
    Duration backoffBase,
    Duration backoffCap,
    Duration noWorkPause,
    Duration idleRecheck,
    int onceMaxErrors,
    Duration vacateAfter,
    boolean slotClaims) {

  /** A config with the default vacate-after, where only the loop thread claims. */
  public LoopConfig(
      int slots, Duration claimWait, Duration heartbeat, Duration backoffBase, Duration backoffCap,
      Duration noWorkPause, Duration idleRecheck, int onceMaxErrors) {
    this(slots, claimWait, heartbeat, backoffBase, backoffCap, noWorkPause, idleRecheck, onceMaxErrors,
        Defaults.VACATE_AFTER);
  }

  /** A config where only the loop thread claims. */
  public LoopConfig(
      int slots, Duration claimWait, Duration heartbeat, Duration backoffBase, Duration backoffCap,
      Duration noWorkPause, Duration idleRecheck, int onceMaxErrors, Duration vacateAfter) {
    this(slots, claimWait, heartbeat, backoffBase, backoffCap, noWorkPause, idleRecheck, onceMaxErrors, vacateAfter,
        false);
  }

  public static LoopConfig from(AgentSettings s) {
    return new LoopConfig(
        s.slots(), s.claimWait(), Defaults.HEARTBEAT, Defaults.BACKOFF_BASE, Defaults.BACKOFF_CAP,
        Defaults.NO_WORK_PAUSE, Defaults.IDLE_RECHECK, Defaults.ONCE_MAX_ERRORS, s.idle().vacateAfter(), true);
  }

  public LoopConfig withClaimWait(Duration wait) {
    return new LoopConfig(slots, wait, heartbeat, backoffBase, backoffCap, noWorkPause, idleRecheck, onceMaxErrors,
        vacateAfter, slotClaims);
  }

  public LoopConfig withVacateAfter(Duration d) {
    return new LoopConfig(slots, claimWait, heartbeat, backoffBase, backoffCap, noWorkPause, idleRecheck,
        onceMaxErrors, d, slotClaims);
  }

  public LoopConfig withSlotClaims(boolean on) {
    return new LoopConfig(slots, claimWait, heartbeat, backoffBase, backoffCap, noWorkPause, idleRecheck,
        onceMaxErrors, vacateAfter, on);
  }
}
