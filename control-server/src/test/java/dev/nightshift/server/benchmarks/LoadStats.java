package dev.nightshift.server.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What simulated agents saw: requests sent per kind, latency samples per kind, reports accepted, errors (with the
 * first few messages kept for the report). Thread-safe; cheap enough for hundreds of thousands of samples.
 */
final class LoadStats {
  private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
  private final Map<String, Samples> latency = new ConcurrentHashMap<>();
  final AtomicLong accepted = new AtomicLong();
  final AtomicLong errors = new AtomicLong();
  private final ConcurrentLinkedQueue<String> errorSamples = new ConcurrentLinkedQueue<>();

  void sent(String kind) {
    requests.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
  }

  void record(String kind, long micros) {
    latency.computeIfAbsent(kind, k -> new Samples()).add(micros);
  }

  void error(String what) {
    if (errors.incrementAndGet() <= 20) {
      errorSamples.add(what);
    }
  }

  long requests() {
    return requests.values().stream().mapToLong(AtomicLong::get).sum();
  }

  long requests(String kind) {
    AtomicLong n = requests.get(kind);
    return n == null ? 0 : n.get();
  }

  Map<String, AtomicLong> requestCounts() {
    return new java.util.TreeMap<>(requests);
  }

  /** The latency samples of a kind (microseconds), sorted; empty when none. */
  long[] sorted(String kind) {
    Samples s = latency.get(kind);
    return s == null ? new long[0] : s.sorted();
  }

  java.util.Set<String> kinds() {
    return new java.util.TreeSet<>(latency.keySet());
  }

  String errorSamples() {
    return String.join("\n    ", errorSamples);
  }

  /** One line per request kind: count, p50, p99, max in milliseconds. */
  String latencyTable(String indent) {
    StringBuilder b = new StringBuilder();
    b.append(String.format("%s%-22s %9s %9s %9s %9s%n", indent, "request", "count", "p50 ms", "p99 ms", "max ms"));
    for (String kind : kinds()) {
      long[] s = sorted(kind);
      b.append(
          String.format(
              "%s%-22s %9d %9.1f %9.1f %9.1f%n",
              indent, kind, s.length, pct(s, 50) / 1000.0, pct(s, 99) / 1000.0, max(s) / 1000.0));
    }
    return b.toString();
  }

  static long pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  static long max(long[] sorted) {
    return sorted.length == 0 ? 0 : sorted[sorted.length - 1];
  }

  /** A growable array of longs. */
  private static final class Samples {
    private long[] values = new long[1024];
    private int size;

    synchronized void add(long v) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = v;
    }

    synchronized long[] sorted() {
      long[] copy = Arrays.copyOf(values, size);
      Arrays.sort(copy);
      return copy;
    }
  }

  /** Resident memory and CPU time of a process, from /proc (Linux). */
  record ProcessUsage(long rssKb, long peakRssKb, double cpuSeconds) {
    private static final long TICKS = clockTicks();

    static ProcessUsage of(long pid) {
      try {
        long rss = 0;
        long hwm = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
          if (line.startsWith("VmRSS:")) {
            rss = kb(line);
          } else if (line.startsWith("VmHWM:")) {
            hwm = kb(line);
          }
        }
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        // Fields after the command name (which may contain spaces) start at field 3; utime is 14, stime 15.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        return new ProcessUsage(rss, hwm, ticks / (double) TICKS);
      } catch (IOException | RuntimeException e) {
        return new ProcessUsage(-1, -1, -1);
      }
    }

    private static long kb(String line) {
      return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static long clockTicks() {
      try {
        Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor();
        return Long.parseLong(out);
      } catch (Exception e) {
        return 100;
      }
    }

    double cpuSince(ProcessUsage before) {
      return cpuSeconds - before.cpuSeconds;
    }

    @Override
    public String toString() {
      return String.format("RSS %,d MB (peak %,d MB), CPU %.1f s", rssKb / 1024, peakRssKb / 1024, cpuSeconds);
    }
  }
}
