package dev.nightshift.server.dashboard;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.springframework.stereotype.Component;

/** Numbers, times and durations as the pages print them; templates call it as {@code @dashboardFormat}. */
@Component
public class DashboardFormat {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
  private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm");
  private final Clock clock;
  private final ZoneId zone = ZoneId.systemDefault();

  DashboardFormat(Clock clock) {
    this.clock = clock;
  }

  public String num(Number n) {
    return n == null ? "–" : String.format(Locale.ROOT, "%,d", n.longValue());
  }

  /** A count with its noun: {@code 1 batch}, {@code 2 batches}. */
  public String count(Number n, String one, String many) {
    return num(n) + " " + (n != null && n.longValue() == 1 ? one : many);
  }

  public String rate(double perMinute) {
    if (perMinute <= 0) {
      return "–";
    }
    return perMinute >= 100
        ? String.format(Locale.ROOT, "%,d items/min", Math.round(perMinute))
        : String.format(Locale.ROOT, "%.1f items/min", perMinute);
  }

  /** A share of a whole as a CSS width, e.g. {@code 37.5%}. */
  public String pct(Number part, Number whole) {
    if (part == null || whole == null || whole.doubleValue() <= 0) {
      return "0%";
    }
    return String.format(Locale.ROOT, "%.2f%%", Math.min(100, 100 * part.doubleValue() / whole.doubleValue()));
  }

  public String percent(double fraction) {
    return String.format(Locale.ROOT, "%.1f%%", fraction * 100);
  }

  /** Local time: just the time today, else date and time. */
  public String time(Instant t) {
    if (t == null) {
      return "–";
    }
    var local = t.atZone(zone);
    return local.toLocalDate().equals(LocalDate.now(clock.withZone(zone))) ? TIME.format(local) : DATE_TIME.format(local);
  }

  public String iso(Instant t) {
    return t == null ? "" : t.toString();
  }

  public String ago(Instant t) {
    return t == null ? "never" : duration(Duration.between(t, clock.instant())) + " ago";
  }

  public String in(Instant t) {
    return t == null ? "–" : "in " + duration(Duration.between(clock.instant(), t));
  }

  /** A job's reference-data rule: "any", "replica at most 5 min behind", "at least at 0-1-12", or both. */
  public String freshness(Integer maxLagSeconds, String minPosition) {
    if (maxLagSeconds == null && minPosition == null) {
      return "any";
    }
    java.util.List<String> parts = new java.util.ArrayList<>();
    if (maxLagSeconds != null) {
      parts.add("replica running, at most " + dev.nightshift.server.batches.Freshness.human(maxLagSeconds) + " behind");
    }
    if (minPosition != null) {
      parts.add("at least at " + minPosition);
    }
    return String.join("; ", parts);
  }

  /** A worker's reference data as its agent last reported it. */
  public String data(dev.nightshift.protocol.DataState d) {
    if (d == null) {
      return "–";
    }
    String lag = d.lagSeconds() == null ? "lag unknown" : dev.nightshift.server.batches.Freshness.human(d.lagSeconds()) + " behind";
    return (d.replicating() ? "replicating, " + lag : "not replicating") + (d.position() == null ? "" : " @ " + d.position())
        + (d.error() == null ? "" : " (" + d.error() + ")");
  }

  public String seconds(Long s) {
    return s == null ? "–" : duration(Duration.ofSeconds(s));
  }

  public String duration(Duration d) {
    long s = Math.max(0, d.toSeconds());
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
    }
    if (s < 86400) {
      return s / 3600 + " h " + (s % 3600) / 60 + " min";
    }
    return s / 86400 + " d " + (s % 86400) / 3600 + " h";
  }

  public String sha(String commit) {
    return commit == null ? "–" : commit.length() > 10 ? commit.substring(0, 10) : commit;
  }

  public String labels(Map<String, String> labels) {
    return labels == null || labels.isEmpty()
        ? "–"
        : labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted()
            .collect(Collectors.joining(", "));
  }

  public String bytes(Long b) {
    if (b == null) {
      return "–";
    }
    if (b < 1024) {
      return b + " B";
    }
    String[] units = {"KB", "MB", "GB", "TB"};
    double v = b;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  public String lower(Object o) {
    return o == null ? "" : o.toString().toLowerCase(Locale.ROOT);
  }
}
