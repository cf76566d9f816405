package dev.nightshift.agent.idle;

import dev.nightshift.agent.config.IdleSettings;
import dev.nightshift.agent.config.SettingsException;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The idle policies by name, as {@code --idle-policy} selects them, wired to this machine's probes. */
public final class IdlePolicies {
  /** Every known policy name. */
  public static final List<String> NAMES = List.of("always", "desktop");

  private IdlePolicies() {}

  /** Checks a policy name; returns it in lower case. */
  public static String checkName(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    if (!NAMES.contains(n)) {
      throw new SettingsException(
          "unknown idle policy '" + name + "': known policies are " + String.join(", ", NAMES));
    }
    return n;
  }

  /**
   * The default for {@code run}: {@code desktop} where someone may sit at the machine (Windows, macOS, or Linux
   * with a graphical session in the environment), else {@code always} (servers, containers, CI).
   */
  public static String defaultForRun(String osName, Map<String, String> env) {
    String os = osName.toLowerCase(Locale.ROOT);
    if (os.startsWith("windows") || os.startsWith("mac")) {
      return "desktop";
    }
    String type = env.getOrDefault("XDG_SESSION_TYPE", "");
    boolean graphical = env.get("DISPLAY") != null || env.get("WAYLAND_DISPLAY") != null
        || type.equals("x11") || type.equals("wayland");
    return graphical ? "desktop" : "always";
  }

  /**
   * The policy {@code settings} name (already defaulted), reading this machine's probes.
   *
   * @param clock the clock in the zone the windows are written in (the system's)
   */
  public static ProbePolicy create(
      IdleSettings settings, OwnerPause pause, Clock clock, String osName, Map<String, String> env) {
    String name = checkName(settings.policy());
    if (name.equals("always")) {
      return new ProbePolicy(false, settings, clock, pause, null, null, null);
    }
    OshiProbes oshi = OshiProbes.create();
    return new ProbePolicy(
        true, settings, clock, pause, InputIdleProbes.forPlatform(osName, env, settings.hostIdleFile(), clock),
        OshiProbes.load(oshi), OshiProbes.power(oshi));
  }
}
