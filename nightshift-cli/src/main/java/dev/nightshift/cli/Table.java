package dev.nightshift.cli;

import java.io.PrintStream;
import java.util.List;

/** Plain text columns padded with spaces (no ANSI): readable on a terminal, cut-able with awk. */
final class Table {
  private Table() {}

  static void print(PrintStream out, List<String[]> rows) {
    int cols = rows.get(0).length;
    int[] widths = new int[cols];
    for (String[] r : rows) {
      for (int i = 0; i < cols; i++) {
        widths[i] = Math.max(widths[i], r[i] == null ? 0 : r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < cols; i++) {
        String v = r[i] == null ? "" : r[i];
        line.append(v);
        if (i < cols - 1) {
          line.append(" ".repeat(widths[i] - v.length() + 2));
        }
      }
      out.println(line.toString().stripTrailing());
    }
    out.flush();
  }
}
