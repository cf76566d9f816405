package dev.nightshift.protocol;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Compares replication positions written as GTIDs, in both dialects: MariaDB's {@code domain-server-seq} list
 * ({@code 0-1-1042,1-7-9}) and MySQL's GTID set ({@code 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1042:1050}). A
 * position covers a minimum when it contains every transaction the minimum names: on MariaDB, for each domain of
 * the minimum, a sequence number at least as high (within a domain sequence numbers only grow); on MySQL, every
 * interval of every source of the minimum.
 */
public final class GtidPositions {
  private GtidPositions() {}

  /** Why {@code text} is not a GTID position, or null when it is one. */
  public static String problem(String text) {
    if (text == null || text.isBlank()) {
      return "a GTID position must not be empty";
    }
    if (text.length() > DataState.MAX_POSITION) {
      return "a GTID position has at most " + DataState.MAX_POSITION + " characters";
    }
    try {
      if (isMysql(text)) {
        mysql(text);
      } else {
        mariadb(text);
      }
      return null;
    } catch (IllegalArgumentException e) {
      return "'" + text + "' is not a GTID position: " + e.getMessage()
          + " (MariaDB: domain-server-seq[,...] like 0-1-1042; MySQL: uuid:from-to[,...])";
    }
  }

  /** True when {@code have} contains every transaction of {@code want}; false when either cannot be read. */
  public static boolean covers(String have, String want) {
    if (want == null || want.isBlank()) {
      return true;
    }
    if (have == null || have.isBlank()) {
      return false;
    }
    try {
      if (isMysql(want)) {
        if (!isMysql(have)) {
          return false;
        }
        Map<String, List<long[]>> h = mysql(have);
        for (var e : mysql(want).entrySet()) {
          List<long[]> got = h.getOrDefault(e.getKey(), List.of());
          for (long[] need : e.getValue()) {
            if (got.stream().noneMatch(g -> g[0] <= need[0] && need[1] <= g[1])) {
              return false;
            }
          }
        }
        return true;
      }
      if (isMysql(have)) {
        return false;
      }
      Map<Long, Long> h = mariadb(have);
      for (var e : mariadb(want).entrySet()) {
        Long got = h.get(e.getKey());
        if (got == null || got < e.getValue()) {
          return false;
        }
      }
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean isMysql(String text) {
    return text.indexOf(':') >= 0;
  }

  /** Domain to highest sequence number. */
  private static Map<Long, Long> mariadb(String text) {
    Map<Long, Long> domains = new HashMap<>();
    for (String part : text.split(",")) {
      String p = part.strip();
      if (p.isEmpty()) {
        continue;
      }
      String[] f = p.split("-");
      if (f.length != 3) {
        throw new IllegalArgumentException("'" + p + "' is not domain-server-seq");
      }
      long domain = number(f[0]);
      number(f[1]);
      domains.merge(domain, number(f[2]), Math::max);
    }
    if (domains.isEmpty()) {
      throw new IllegalArgumentException("no GTID in it");
    }
    return domains;
  }

  /** Source (uuid, with a tag when there is one) to merged-free list of closed intervals. */
  private static Map<String, List<long[]>> mysql(String text) {
    Map<String, List<long[]>> sources = new HashMap<>();
    for (String part : text.split(",")) {
      String p = part.strip();
      if (p.isEmpty()) {
        continue;
      }
      String[] f = p.split(":");
      String uuid = f[0].toLowerCase(Locale.ROOT);
      if (!uuid.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
        throw new IllegalArgumentException("'" + f[0] + "' is not a server uuid");
      }
      String tag = "";
      List<long[]> intervals = new ArrayList<>();
      for (int i = 1; i < f.length; i++) {
        String range = f[i].strip();
        if (!range.isEmpty() && Character.isLetter(range.charAt(0))) {
          tag = range.toLowerCase(Locale.ROOT); // MySQL 8.3+ tagged GTIDs: uuid:tag:1-5
          continue;
        }
        String[] ends = range.split("-");
        if (ends.length > 2 || range.isEmpty()) {
          throw new IllegalArgumentException("'" + range + "' is not an interval");
        }
        long from = number(ends[0]);
        long to = ends.length == 2 ? number(ends[1]) : from;
        if (to < from) {
          throw new IllegalArgumentException("'" + range + "' ends before it starts");
        }
        sources.computeIfAbsent(uuid + ":" + tag, k -> new ArrayList<>()).add(new long[] {from, to});
      }
      if (intervals.isEmpty() && !sources.containsKey(uuid + ":" + tag)) {
        throw new IllegalArgumentException("'" + p + "' names no transactions");
      }
    }
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("no GTID in it");
    }
    return sources;
  }

  private static long number(String s) {
    try {
      long n = Long.parseLong(s.strip());
      if (n < 0) {
        throw new IllegalArgumentException("'" + s + "' is negative");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + s + "' is not a number");
    }
  }
}
