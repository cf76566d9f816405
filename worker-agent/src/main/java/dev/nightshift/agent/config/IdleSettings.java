package dev.nightshift.agent.config;

import dev.nightshift.agent.idle.TimeWindow;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The idle policy's settings (see docs/idle-policy.md).
 *
 * @param policy {@code always}, {@code desktop}, or null for the command's default ({@code run}: desktop when a
 *     user session is detected, else always; {@code once}: always)
 * @param windows when work may run, local time; empty means at any time
 * @param inputIdle how long without keyboard or mouse input before the desktop policy runs work
 * @param maxLoad the most CPU other programs may use, as a fraction of the whole machine (0.3 = 0.3 per core)
 * @param runOnBattery whether the desktop policy runs work on battery power
 * @param vacateAfter how long a batch stays suspended (owner back) before it is killed and given back
 * @param hostIdleFile a file a host-side helper keeps updated with the host user's idle seconds (VMs), or null
 */
public record IdleSettings(
    String policy,
    List<TimeWindow> windows,
    Duration inputIdle,
    double maxLoad,
    boolean runOnBattery,
    Duration vacateAfter,
    Path hostIdleFile) {

  public IdleSettings {
    windows = List.copyOf(windows);
  }

  public static IdleSettings defaults() {
    return new IdleSettings(
        null, List.of(), Defaults.INPUT_IDLE, Defaults.MAX_LOAD, false, Defaults.VACATE_AFTER, null);
  }

  public IdleSettings withPolicy(String p) {
    return new IdleSettings(p, windows, inputIdle, maxLoad, runOnBattery, vacateAfter, hostIdleFile);
  }

  public IdleSettings withWindows(List<TimeWindow> w) {
    return new IdleSettings(policy, w, inputIdle, maxLoad, runOnBattery, vacateAfter, hostIdleFile);
  }
}
