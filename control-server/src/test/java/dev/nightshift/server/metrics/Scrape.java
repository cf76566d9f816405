package dev.nightshift.server.metrics;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** One answer of {@code /actuator/prometheus}, parsed: every sample by its series ({@code name{labels}}). */
public record Scrape(Map<String, Double> samples) {

  public static Scrape parse(String text) {
    Map<String, Double> samples = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return new Scrape(samples);
  }

  /** The sample of a series, e.g. {@code nightshift_reports_total{status="ACCEPTED"}}; 0 when absent. */
  public double value(String series) {
    return samples.getOrDefault(series, 0.0);
  }

  /** The sum over every series of a metric name (all label values). */
  public double sum(String name) {
    return samples.entrySet().stream()
        .filter(e -> name(e.getKey()).equals(name))
        .mapToDouble(Map.Entry::getValue)
        .sum();
  }

  /** Every metric name (with Prometheus' suffixes such as {@code _total}, {@code _bucket}). */
  public Set<String> names() {
    Set<String> names = new TreeSet<>();
    samples.keySet().forEach(k -> names.add(name(k)));
    return names;
  }

  private static String name(String series) {
    int brace = series.indexOf('{');
    return brace < 0 ? series : series.substring(0, brace);
  }
}
