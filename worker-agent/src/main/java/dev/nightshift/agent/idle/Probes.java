package dev.nightshift.agent.idle;

import java.time.Duration;

/**
 * The signals the desktop policy reads, each behind an interface so tests can fake it. A probe never throws: a
 * signal it cannot read comes back as {@link Sample#unknown}.
 */
public final class Probes {
  private Probes() {}

  /** How long the machine's user has not touched keyboard or mouse. */
  @FunctionalInterface
  public interface InputIdle {
    Sample<Duration> inputIdle();
  }

  /** CPU used by programs other than this agent and its scripts, as a fraction of the whole machine (0..1). */
  @FunctionalInterface
  public interface Load {
    Sample<Double> otherLoad();
  }

  /** Whether the machine runs on battery. */
  @FunctionalInterface
  public interface Power {
    Sample<Boolean> onBattery();
  }

  /** A probe's reading, or unknown with the exception's message if the probe broke its promise and threw. */
  static <T> Sample<T> safely(java.util.function.Supplier<Sample<T>> probe) {
    try {
      Sample<T> s = probe.get();
      return s == null ? Sample.unknown("no reading") : s;
    } catch (RuntimeException | LinkageError e) {
      return Sample.unknown("probe failed: " + e);
    }
  }
}
