package dev.nightshift.agent.idle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The user-input idle probes of each platform: Linux (logind's IdleHint/IdleSinceHint through {@code loginctl},
 * and the X11 screensaver through {@code xprintidle} where installed), macOS ({@code HIDIdleTime} through
 * {@code ioreg}), Windows ({@code GetLastInputInfo} through JNA), and the host-side signal file for VMs.
 */
public final class InputIdleProbes {
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(2);
  private static final Pattern HID_IDLE = Pattern.compile("\"HIDIdleTime\"\\s*=\\s*(\\d+)");

  private InputIdleProbes() {}

  /** The probe of this platform, combined with the host signal file when one is configured. */
  public static Probes.InputIdle forPlatform(String osName, Map<String, String> env, Path hostIdleFile, Clock clock) {
    String os = osName.toLowerCase(Locale.ROOT);
    Probes.InputIdle local;
    if (os.startsWith("windows")) {
      local = InputIdleProbes::windows;
    } else if (os.startsWith("mac")) {
      local = InputIdleProbes::mac;
    } else {
      local = () -> linux(env, clock);
    }
    if (hostIdleFile == null) {
      return local;
    }
    Probes.InputIdle host = hostFile(hostIdleFile, clock, HOST_FILE_STALE);
    return shortest(List.of(local, host));
  }

  /** A host signal older than this is stale: the helper stopped, or the share broke. */
  public static final Duration HOST_FILE_STALE = Duration.ofMinutes(2);

  /** The shortest known idle time of {@code probes} (anyone at any keyboard counts); unknown when none knows. */
  static Probes.InputIdle shortest(List<Probes.InputIdle> probes) {
    return () -> {
      Sample<Duration> best = null;
      List<String> texts = new ArrayList<>();
      for (Probes.InputIdle p : probes) {
        Sample<Duration> s = Probes.safely(p::inputIdle);
        texts.add(s.text());
        if (s.isKnown() && (best == null || s.value().compareTo(best.value()) < 0)) {
          best = s;
        }
      }
      String text = String.join("; ", texts);
      return best == null ? new Sample<>(null, text) : Sample.known(best.value(), text);
    };
  }

  /**
   * The host signal: a file whose first word is the host user's idle time in seconds, rewritten by a host-side
   * helper at least every minute. Older than {@code stale} (by its modification time), it is unknown.
   */
  public static Probes.InputIdle hostFile(Path file, Clock clock, Duration stale) {
    return () -> {
      try {
        Instant written = Files.getLastModifiedTime(file).toInstant();
        Duration age = Duration.between(written, clock.instant());
        if (age.compareTo(stale) > 0) {
          return Sample.unknown("host signal " + file + " is stale: last written " + ProbePolicy.human(age) + " ago");
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        String first = text.isEmpty() ? "" : text.split("\\s+")[0];
        double seconds = Double.parseDouble(first);
        if (seconds < 0 || Double.isNaN(seconds) || Double.isInfinite(seconds)) {
          return Sample.unknown("host signal " + file + " holds '" + first + "', not idle seconds");
        }
        return Sample.known(Duration.ofMillis((long) (seconds * 1000)), "host signal " + file + ": host user idle "
            + ProbePolicy.human(Duration.ofMillis((long) (seconds * 1000))));
      } catch (NoSuchFileException e) {
        return Sample.unknown("host signal " + file + " does not exist");
      } catch (IOException | NumberFormatException e) {
        return Sample.unknown("host signal " + file + " unreadable: " + e.getMessage());
      }
    };
  }

  /** Linux: the X11 screensaver's idle time ({@code xprintidle}) and logind's idle hints; the shortest wins. */
  static Sample<Duration> linux(Map<String, String> env, Clock clock) {
    List<Probes.InputIdle> probes = new ArrayList<>();
    if (env.get("DISPLAY") != null && Commands.onPath("xprintidle", env.get("PATH"))) {
      probes.add(InputIdleProbes::xprintidle);
    }
    probes.add(() -> logind(clock));
    return shortest(probes).inputIdle();
  }

  static Sample<Duration> xprintidle() {
    return Commands.output(List.of("xprintidle"), COMMAND_TIMEOUT)
        .map(String::trim)
        .filter(s -> s.matches("\\d+"))
        .map(s -> Sample.known(Duration.ofMillis(Long.parseLong(s)), "X11 screensaver (xprintidle)"))
        .orElseGet(() -> Sample.unknown("xprintidle failed"));
  }

  /**
   * logind: local (not remote) user sessions; a session with IdleHint=yes is idle since IdleSinceHint, one with
   * IdleHint=no is in use. A session whose IdleSinceHint was never set (0) has no idle tracking (many desktops
   * never report it) and is unknown, so that a desktop that never sets the hint cannot block work forever.
   */
  static Sample<Duration> logind(Clock clock) {
    Optional<String> list = Commands.output(List.of("loginctl", "list-sessions", "--no-legend"), COMMAND_TIMEOUT);
    if (list.isEmpty()) {
      return Sample.unknown("no logind (loginctl failed)");
    }
    Duration shortest = null;
    String which = null;
    for (String line : list.get().split("\n")) {
      String[] cols = line.trim().split("\\s+");
      if (cols.length == 0 || cols[0].isEmpty()) {
        continue;
      }
      Optional<String> props = Commands.output(
          List.of("loginctl", "show-session", cols[0], "-p", "IdleHint", "-p", "IdleSinceHint", "-p", "Remote",
              "-p", "Class"), COMMAND_TIMEOUT);
      if (props.isEmpty()) {
        continue;
      }
      Optional<Duration> idle = logindSession(props.get(), clock.instant());
      if (idle.isPresent() && (shortest == null || idle.get().compareTo(shortest) < 0)) {
        shortest = idle.get();
        which = cols[0];
      }
    }
    return shortest == null
        ? Sample.unknown("no local logind session with idle tracking")
        : Sample.known(shortest, "logind session " + which);
  }

  /** One session's idle time from {@code loginctl show-session} output; empty when it tells nothing. */
  static Optional<Duration> logindSession(String properties, Instant now) {
    Map<String, String> p = new java.util.HashMap<>();
    for (String line : properties.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        p.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    if ("yes".equals(p.get("Remote")) || (p.containsKey("Class") && !p.get("Class").startsWith("user"))) {
      return Optional.empty();
    }
    long sinceMicros;
    try {
      sinceMicros = Long.parseLong(p.getOrDefault("IdleSinceHint", "0"));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    if (sinceMicros <= 0) {
      return Optional.empty();
    }
    if (!"yes".equals(p.get("IdleHint"))) {
      return Optional.of(Duration.ZERO);
    }
    Instant since = Instant.ofEpochSecond(sinceMicros / 1_000_000, (sinceMicros % 1_000_000) * 1000);
    return Optional.of(since.isAfter(now) ? Duration.ZERO : Duration.between(since, now));
  }

  /** macOS: {@code HIDIdleTime} (nanoseconds) from {@code ioreg -c IOHIDSystem}. Untested here (Linux CI). */
  static Sample<Duration> mac() {
    return Commands.output(List.of("ioreg", "-c", "IOHIDSystem", "-d", "4"), COMMAND_TIMEOUT)
        .flatMap(InputIdleProbes::hidIdle)
        .map(d -> Sample.known(d, "HIDIdleTime (ioreg)"))
        .orElseGet(() -> Sample.unknown("ioreg gave no HIDIdleTime"));
  }

  static Optional<Duration> hidIdle(String ioreg) {
    Matcher m = HID_IDLE.matcher(ioreg);
    return m.find() ? Optional.of(Duration.ofNanos(Long.parseLong(m.group(1)))) : Optional.empty();
  }

  /**
   * Windows: {@code GetLastInputInfo} against {@code GetTickCount} through JNA. Sees the input of the session the
   * agent runs in (a service in session 0 sees none: use the host-signal file or windows there). Untested here.
   */
  static Sample<Duration> windows() {
    try {
      com.sun.jna.platform.win32.WinUser.LASTINPUTINFO info = new com.sun.jna.platform.win32.WinUser.LASTINPUTINFO();
      if (!com.sun.jna.platform.win32.User32.INSTANCE.GetLastInputInfo(info)) {
        return Sample.unknown("GetLastInputInfo failed");
      }
      long now = com.sun.jna.platform.win32.Kernel32.INSTANCE.GetTickCount() & 0xFFFFFFFFL;
      long last = info.dwTime & 0xFFFFFFFFL;
      long idle = (now - last) & 0xFFFFFFFFL; // the tick count wraps every 49.7 days
      return Sample.known(Duration.ofMillis(idle), "GetLastInputInfo");
    } catch (RuntimeException | LinkageError e) {
      return Sample.unknown("GetLastInputInfo unavailable: " + e.getMessage());
    }
  }
}
