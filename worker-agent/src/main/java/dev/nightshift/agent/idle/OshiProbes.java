package dev.nightshift.agent.idle;

import java.time.Duration;
import java.util.List;
import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.HardwareAbstractionLayer;
import oshi.hardware.PowerSource;

/** CPU load from other programs and the power source, read through OSHI. Created once per agent. */
public final class OshiProbes {
  private final HardwareAbstractionLayer hardware;

  private OshiProbes(HardwareAbstractionLayer hardware) {
    this.hardware = hardware;
  }

  /** The probes, or null when OSHI does not work on this system (then both read unknown). */
  public static OshiProbes create() {
    try {
      return new OshiProbes(new SystemInfo().getHardware());
    } catch (RuntimeException | LinkageError e) {
      return null;
    }
  }

  public static Probes.Load load(OshiProbes oshi) {
    return oshi == null ? () -> Sample.unknown("OSHI unavailable on this system") : oshi.new OtherLoad();
  }

  public static Probes.Power power(OshiProbes oshi) {
    return oshi == null ? () -> Sample.unknown("OSHI unavailable on this system") : oshi::onBattery;
  }

  /**
   * The machine's CPU use since the previous reading, minus what this agent and its descendants (the scripts)
   * used. The first reading only takes the starting sample and is unknown. Processes of the agent's tree that
   * ended between two readings count as other programs for that interval (their CPU time is gone with them).
   */
  final class OtherLoad implements Probes.Load {
    private static final long MIN_INTERVAL_NANOS = Duration.ofMillis(250).toNanos();
    private final CentralProcessor cpu = hardware.getProcessor();
    private long[] ticks;
    private long nanos;
    private long ownCpuNanos;
    private Sample<Double> last;

    OtherLoad() {
      sample();
    }

    private void sample() {
      ticks = cpu.getSystemCpuLoadTicks();
      nanos = System.nanoTime();
      ownCpuNanos = ownCpuNanos();
    }

    @Override
    public synchronized Sample<Double> otherLoad() {
      long now = System.nanoTime();
      if (now - nanos < MIN_INTERVAL_NANOS) {
        return last != null ? last : Sample.unknown("first sample taken; measured from the next check on");
      }
      double system = cpu.getSystemCpuLoadBetweenTicks(ticks);
      long own = ownCpuNanos();
      int cores = Math.max(1, cpu.getLogicalProcessorCount());
      double ownShare = Math.max(0, own - ownCpuNanos) / (double) ((now - nanos) * (long) cores);
      long interval = now - nanos;
      sample();
      if (system < 0 || Double.isNaN(system)) {
        last = Sample.unknown("no CPU ticks");
      } else {
        double other = Math.max(0, Math.min(1, system - ownShare));
        last = Sample.known(other, "whole machine " + ProbePolicy.percent(system) + ", this agent and its scripts "
            + ProbePolicy.percent(Math.min(1, ownShare)) + ", " + cores + " logical CPUs, over "
            + Duration.ofNanos(interval).toMillis() / 1000.0 + " s (OSHI)");
      }
      return last;
    }
  }

  /** The CPU time of this process and its descendants. */
  static long ownCpuNanos() {
    ProcessHandle self = ProcessHandle.current();
    long total = cpu(self);
    for (ProcessHandle h : (Iterable<ProcessHandle>) self.descendants()::iterator) {
      total += cpu(h);
    }
    return total;
  }

  private static long cpu(ProcessHandle h) {
    return h.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
  }

  Sample<Boolean> onBattery() {
    List<PowerSource> sources = hardware.getPowerSources();
    if (sources.isEmpty()) {
      return Sample.known(false, "no battery found: mains power (OSHI)");
    }
    boolean online = sources.stream().anyMatch(PowerSource::isPowerOnLine);
    boolean discharging = sources.stream().anyMatch(PowerSource::isDischarging);
    boolean battery = !online && discharging;
    PowerSource first = sources.get(0);
    return Sample.known(battery, (battery ? "on battery" : "on mains power") + " (" + sources.size()
        + " power source(s), " + first.getName() + " at " + Math.round(first.getRemainingCapacityPercent() * 100)
        + "%, OSHI)");
  }
}
