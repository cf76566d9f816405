package dev.nightshift.agent.idle;

import dev.nightshift.agent.config.SettingsException;
import java.time.DayOfWeek;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.format.TextStyle;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A weekly time window in local time, e.g. {@code Mon-Fri 20:00-06:00}: it opens on each of the days at the start
 * time and closes at the end time, the next day when the end is not after the start (the window spans midnight).
 * {@code 24:00} as an end means the end of the day.
 *
 * @param days the days on which the window opens
 * @param startMinute minute of the day it opens (0..1439)
 * @param endMinute minute of the day it closes (1..1440); at or before the start means the next day
 * @param text the window as written
 */
public record TimeWindow(Set<DayOfWeek> days, int startMinute, int endMinute, String text) {
  private static final Pattern FORMAT =
      Pattern.compile("(?i)\\s*([a-z,\\-]+)\\s+(\\d{1,2}):(\\d{2})\\s*-\\s*(\\d{1,2}):(\\d{2})\\s*");
  private static final List<String> DAY_NAMES = List.of("mon", "tue", "wed", "thu", "fri", "sat", "sun");

  /** Parses {@code DAYS HH:MM-HH:MM}; DAYS is {@code Mon-Fri}, {@code Sat,Sun}, {@code Mon}, or {@code daily}. */
  public static TimeWindow parse(String text) {
    Matcher m = FORMAT.matcher(text);
    if (!m.matches()) {
      throw invalid(text, "expected DAYS HH:MM-HH:MM");
    }
    Set<DayOfWeek> days = days(text, m.group(1).toLowerCase(Locale.ROOT));
    int start = minute(text, m.group(2), m.group(3), false);
    int end = minute(text, m.group(4), m.group(5), true);
    if (start == end) {
      throw invalid(text, "start and end are the same; for a whole day write 00:00-24:00");
    }
    return new TimeWindow(days, start, end, text.trim().replaceAll("\\s+", " "));
  }

  private static Set<DayOfWeek> days(String text, String spec) {
    if (spec.equals("daily") || spec.equals("every-day") || spec.equals("mon-sun")) {
      return EnumSet.allOf(DayOfWeek.class);
    }
    Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
    for (String part : spec.split(",")) {
      String[] range = part.split("-", -1);
      if (range.length > 2) {
        throw invalid(text, "bad day range '" + part + "'");
      }
      int from = day(text, range[0]);
      int to = range.length == 2 ? day(text, range[1]) : from;
      for (int d = from; ; d = (d + 1) % 7) { // Fri-Mon wraps over the weekend
        days.add(DayOfWeek.of(d + 1));
        if (d == to) {
          break;
        }
      }
    }
    return days;
  }

  private static int day(String text, String name) {
    String n = name.trim();
    int i = n.length() >= 3 ? DAY_NAMES.indexOf(n.substring(0, 3)) : -1;
    if (i < 0) {
      throw invalid(text, "unknown day '" + name + "' (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or daily)");
    }
    return i;
  }

  private static int minute(String text, String h, String m, boolean end) {
    int hour = Integer.parseInt(h);
    int min = Integer.parseInt(m);
    int total = hour * 60 + min;
    if (min > 59 || hour > 24 || total > 1440 || (total == 1440 && !end)) {
      throw invalid(text, "bad time " + h + ":" + m + " (00:00 to 23:59; 24:00 only as an end)");
    }
    return total;
  }

  private static SettingsException invalid(String text, String why) {
    return new SettingsException(
        "invalid window '" + text.trim() + "': " + why + ", e.g. \"Mon-Fri 20:00-06:00\" or \"Sat-Sun 00:00-24:00\"");
  }

  private boolean spansMidnight() {
    return endMinute <= startMinute;
  }

  /** Whether local time {@code t} lies inside this window. */
  public boolean contains(LocalDateTime t) {
    int m = t.getHour() * 60 + t.getMinute();
    DayOfWeek d = t.getDayOfWeek();
    if (!spansMidnight()) {
      return days.contains(d) && m >= startMinute && m < endMinute;
    }
    return (days.contains(d) && m >= startMinute) || (days.contains(d.minus(1)) && m < endMinute);
  }

  /** The next time after {@code t} this window opens. */
  public Optional<LocalDateTime> nextOpening(LocalDateTime t) {
    LocalDateTime best = null;
    for (int i = 0; i <= 7; i++) {
      LocalDateTime day = t.toLocalDate().plusDays(i).atStartOfDay();
      if (!days.contains(day.getDayOfWeek())) {
        continue;
      }
      LocalDateTime open = day.plusMinutes(startMinute);
      if (open.isAfter(t) && (best == null || open.isBefore(best))) {
        best = open;
      }
    }
    return Optional.ofNullable(best);
  }

  /** {@code Mon 20:00}, for reasons. */
  static String describe(LocalDateTime t) {
    return t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH) + " "
        + LocalTime.of(t.getHour(), t.getMinute());
  }

  static String joined(List<TimeWindow> windows) {
    return windows.stream().map(TimeWindow::text).collect(Collectors.joining(", "));
  }
}
