package dev.nightshift.agent.idle;

import dev.nightshift.agent.config.IdleSettings;
import dev.nightshift.protocol.WorkerState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The idle policies {@code always} and {@code desktop}. Both honour the owner's pause and the time windows;
 * {@code desktop} also needs the user away from keyboard and mouse long enough, little CPU used by other programs,
 * and mains power. Checks run in a fixed order and the first that fails names the verdict: PAUSED_BY_OWNER,
 * OUTSIDE_WINDOW, ON_BATTERY, OWNER_ACTIVE, MACHINE_BUSY. An unknown reading never blocks: unknown input idle
 * leaves the decision to the windows and the load, unknown load and unknown power pass (docs/idle-policy.md).
 */
public final class ProbePolicy implements IdlePolicy {
  private final String name;
  private final boolean desktop;
  private final IdleSettings settings;
  private final Clock clock;
  private final OwnerPause pause;
  private final Probes.InputIdle input;
  private final Probes.Load load;
  private final Probes.Power power;

  /**
   * @param desktop whether input, load and power count (the {@code desktop} policy)
   * @param clock the clock, in the zone the windows are written for
   * @param pause the owner's pause file, or null for none
   */
  public ProbePolicy(
      boolean desktop, IdleSettings settings, Clock clock, OwnerPause pause, Probes.InputIdle input,
      Probes.Load load, Probes.Power power) {
    this.name = desktop ? "desktop" : "always";
    this.desktop = desktop;
    this.settings = settings;
    this.clock = clock;
    this.pause = pause;
    this.input = input;
    this.load = load;
    this.power = power;
  }

  public String name() {
    return name;
  }

  @Override
  public IdleVerdict evaluate() {
    Instant now = clock.instant();
    LocalDateTime local = LocalDateTime.ofInstant(now, clock.getZone());
    Map<String, String> readings = new LinkedHashMap<>();
    readings.put("policy", name);

    // owner pause
    String paused = null;
    if (pause != null) {
      OwnerPause.State ps = pause.read();
      if (!ps.present()) {
        readings.put("owner pause", "not paused");
      } else if (ps.problem() != null) {
        paused = "paused by the owner (" + ps.problem() + "); 'nightshift-agent resume' ends it";
        readings.put("owner pause", paused);
      } else if (ps.pausedAt(now)) {
        paused = "paused by the owner "
            + (ps.until() == null ? "until resumed" : "until " + TimeWindow.describe(LocalDateTime.ofInstant(ps.until(), clock.getZone())))
            + "; 'nightshift-agent resume' ends it";
        readings.put("owner pause", paused);
      } else {
        readings.put("owner pause", "expired at " + ps.until());
      }
    }

    // windows
    String outside = null;
    if (settings.windows().isEmpty()) {
      readings.put("windows", "none set: any time");
    } else if (settings.windows().stream().anyMatch(w -> w.contains(local))) {
      readings.put("windows", "inside " + TimeWindow.joined(settings.windows()) + " (now " + TimeWindow.describe(local) + ")");
    } else {
      Optional<LocalDateTime> next =
          settings.windows().stream().flatMap(w -> w.nextOpening(local).stream()).min(LocalDateTime::compareTo);
      outside = "outside the windows " + TimeWindow.joined(settings.windows())
          + next.map(t -> "; next window opens " + TimeWindow.describe(t)).orElse("");
      readings.put("windows", outside + " (now " + TimeWindow.describe(local) + ")");
    }

    String battery = null;
    String active = null;
    String busy = null;
    String idleFor = null;
    if (desktop) {
      Sample<Boolean> p = Probes.safely(power::onBattery);
      readings.put("power", p.text());
      if (Boolean.TRUE.equals(p.value()) && !settings.runOnBattery()) {
        battery = "on battery power (work runs on mains power only; --run-on-battery allows it)";
      }
      Sample<Duration> in = Probes.safely(input::inputIdle);
      if (in.isKnown()) {
        readings.put("user input", "last " + ago(in.value()) + " (needs " + human(settings.inputIdle()) + ") - " + in.text());
        if (in.value().compareTo(settings.inputIdle()) < 0) {
          active = "user input " + ago(in.value()) + " (needs " + human(settings.inputIdle()) + ")";
        } else {
          idleFor = "no user input for " + human(in.value());
        }
      } else {
        readings.put("user input", in.text() + "; relying on the windows and the load");
        idleFor = "user input unknown";
      }
      Sample<Double> l = Probes.safely(load::otherLoad);
      if (l.isKnown()) {
        readings.put("load", percent(l.value()) + " of the CPU used by other programs (limit "
            + percent(settings.maxLoad()) + ") - " + l.text());
        if (l.value() > settings.maxLoad()) {
          busy = "other programs use " + percent(l.value()) + " of the CPU (limit " + percent(settings.maxLoad()) + ")";
        }
      } else {
        readings.put("load", l.text() + "; not counted");
      }
    }

    IdleVerdict v;
    if (paused != null) {
      v = IdleVerdict.wait(WorkerState.PAUSED_BY_OWNER, paused);
    } else if (outside != null) {
      v = IdleVerdict.wait(WorkerState.OUTSIDE_WINDOW, outside);
    } else if (battery != null) {
      v = IdleVerdict.wait(WorkerState.ON_BATTERY, battery);
    } else if (active != null) {
      v = IdleVerdict.wait(WorkerState.OWNER_ACTIVE, active);
    } else if (busy != null) {
      v = IdleVerdict.wait(WorkerState.MACHINE_BUSY, busy);
    } else if (desktop) {
      v = IdleVerdict.run("idle policy 'desktop': " + idleFor
          + (settings.windows().isEmpty() ? "" : ", inside " + TimeWindow.joined(settings.windows())));
    } else {
      v = IdleVerdict.run("idle policy 'always'"
          + (settings.windows().isEmpty() ? ": runs whenever there is work" : ": inside " + TimeWindow.joined(settings.windows())));
    }
    return v.withReadings(readings);
  }

  static String ago(Duration d) {
    return d.toSeconds() < 5 ? "just now" : human(d) + " ago";
  }

  /** {@code 45 s}, {@code 2 min}, {@code 3 h 5 min}. */
  public static String human(Duration d) {
    long s = Math.max(0, d.toSeconds());
    if (s < 60) {
      return s + " s";
    }
    long min = s / 60;
    if (min < 120) {
      return min + " min";
    }
    return (min / 60) + " h" + (min % 60 == 0 ? "" : " " + (min % 60) + " min");
  }

  static String percent(double fraction) {
    return Math.round(fraction * 100) + "%";
  }
}
