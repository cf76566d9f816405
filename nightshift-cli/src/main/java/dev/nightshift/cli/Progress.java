package dev.nightshift.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress lines: on a terminal one line redrawn in place ({@code \r}, then erase to the end of the line); elsewhere
 * a new plain line only when the text changes (no ANSI escapes, no carriage returns). The formatting helpers are
 * pure, for tests.
 */
final class Progress {
  private final PrintStream out;
  private final boolean terminal;
  private final int width;
  private String last;
  private boolean drawn;

  Progress(PrintStream out, boolean terminal, int width) {
    this.out = out;
    this.terminal = terminal;
    this.width = width;
  }

  boolean terminal() {
    return terminal;
  }

  int width() {
    return width;
  }

  /** Shows {@code line}; {@code key} decides what counts as a change for plain output (null: the line itself). */
  synchronized void show(String line, String key) {
    String k = key == null ? line : key;
    if (terminal) {
      out.print("\r" + fit(line, width - 1) + "\033[K");
      out.flush();
      drawn = true;
    } else if (!k.equals(last)) {
      out.println(line);
      out.flush();
    }
    last = k;
  }

  /** Ends the redrawn line so what follows starts on a fresh line. */
  synchronized void done() {
    if (terminal && drawn) {
      out.println();
      out.flush();
      drawn = false;
    }
  }

  static String fit(String line, int width) {
    return line.length() <= width ? line : line.substring(0, Math.max(0, width));
  }

  /** {@code [#####-----]} with {@code cells} cells inside the brackets. */
  static String bar(double fraction, int cells) {
    double f = Double.isNaN(fraction) ? 0 : Math.max(0, Math.min(1, fraction));
    int full = (int) Math.floor(f * cells);
    return "[" + "#".repeat(full) + "-".repeat(cells - full) + "]";
  }

  static String percent(double fraction) {
    double f = Double.isNaN(fraction) ? 0 : Math.max(0, Math.min(1, fraction));
    // never show 100% before the end
    int p = (int) Math.floor(f * 100);
    return p + "%";
  }

  /** 45s, 12m09s, 3h05m, 2d04h. */
  static String duration(long seconds) {
    if (seconds < 0) {
      return "?";
    }
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
    if (seconds < 86400) {
      return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
    }
    return String.format(Locale.ROOT, "%dd%02dh", seconds / 86400, seconds % 86400 / 3600);
  }

  /** 37,800 */
  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  /** 1 item, 2 items, 1 batch, 1,000 batches. */
  static String plural(long n, String noun) {
    return count(n) + " " + (n == 1 ? noun : noun.endsWith("h") ? noun + "es" : noun + "s");
  }

  /** 512 B, 1.5 KB, 27.0 MB, 3.2 GB (powers of 1024). */
  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KB", "MB", "GB", "TB"};
    double v = n;
    int i = -1;
    do {
      v /= 1024;
      i++;
    } while (v >= 1024 && i < units.length - 1);
    return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
  }

  /** Items per minute as people read it: 5,120/min, 0.5/min, or 250/s above 600 a minute. */
  static String rate(double perMinute) {
    if (perMinute >= 600) {
      return count(Math.round(perMinute / 60)) + "/s";
    }
    if (perMinute > 0 && perMinute < 10) {
      return String.format(Locale.ROOT, "%.1f/min", perMinute);
    }
    return count(Math.round(perMinute)) + "/min";
  }

  /** One job as the watch line shows it. */
  record JobStatus(
      long id,
      String state,
      long itemCount,
      long succeededItems,
      double progress,
      double itemsPerMinute,
      Long etaSeconds,
      int batchSize,
      int pending,
      int leased,
      int succeeded,
      int dead,
      int cancelled) {

    boolean finished() {
      return state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("CANCELLED");
    }

    /**
     * A finished job whose batches are still being moved: a cancel changes the job's state first, then sweeps its
     * batches in chunks (and running attempts report their end), so counts read at that moment are not the final ones.
     */
    boolean settling() {
      return finished() && pending + leased > 0;
    }

    /** Items not yet processed in any way: all but the succeeded ones, less those of dead and cancelled batches. */
    long remaining() {
      if (finished()) {
        return 0;
      }
      long open = itemCount - succeededItems;
      if (dead == 0 && cancelled == 0) {
        return Math.max(0, open);
      }
      return Math.max(0, Math.min(open, (long) (pending + leased) * batchSize));
    }

    /** What counts as a change for plain output: the state and the counts, not the rate or the ETA. */
    String changeKey() {
      return state + " " + succeededItems + " " + pending + " " + leased + " " + succeeded + " " + dead + " "
          + cancelled;
    }
  }

  /**
   * {@code job 7 RUNNING [######----] 38% 37,800/100,000 items 5,120/min ETA 12m09s 62,200 remaining}, cut to
   * {@code width}; the bar shrinks first.
   */
  static String watchLine(JobStatus s, int width) {
    StringBuilder tail = new StringBuilder();
    tail.append(percent(s.progress())).append(' ');
    tail.append(count(s.succeededItems())).append('/').append(count(s.itemCount())).append(" items");
    if (s.dead() > 0) {
      tail.append(", ").append(count(s.dead())).append(s.dead() == 1 ? " batch dead" : " batches dead");
    }
    if (!s.finished()) {
      tail.append("  ").append(rate(s.itemsPerMinute()));
      if (s.etaSeconds() != null && s.state().equals("RUNNING")) {
        tail.append("  ETA ").append(duration(s.etaSeconds()));
      }
      tail.append("  ").append(count(s.remaining())).append(" remaining");
    } else {
      tail.append("  ").append(rate(s.itemsPerMinute()));
    }
    String head = "job " + s.id() + " " + s.state() + " ";
    int cells = Math.min(30, width - 1 - head.length() - tail.length() - 3);
    String line =
        cells >= 5 ? head + bar(s.progress(), cells) + " " + tail : head + tail;
    return fit(line, width - 1);
  }

  /** {@code uploading items.csv [####----] 45% 12.3 MB of 27.0 MB 4.1 MB/s ETA 4s}; total -1 when unknown. */
  static String transferLine(String what, long done, long total, double bytesPerSecond, int width) {
    StringBuilder tail = new StringBuilder();
    if (total > 0) {
      double f = (double) done / total;
      tail.append(percent(f)).append(' ').append(bytes(done)).append(" of ").append(bytes(total));
    } else {
      tail.append(bytes(done));
    }
    if (bytesPerSecond > 0) {
      tail.append("  ").append(bytes((long) bytesPerSecond)).append("/s");
      if (total > 0 && done < total) {
        tail.append("  ETA ").append(duration((long) Math.ceil((total - done) / bytesPerSecond)));
      }
    }
    String head = what + " ";
    if (total > 0) {
      int cells = Math.min(30, width - 1 - head.length() - tail.length() - 3);
      if (cells >= 5) {
        return fit(head + bar((double) done / total, cells) + " " + tail, width - 1);
      }
    }
    return fit(head + tail, width - 1);
  }
}
