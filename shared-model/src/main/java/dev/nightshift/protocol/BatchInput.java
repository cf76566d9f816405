package dev.nightshift.protocol;

/**
 * The input of a batch: either items, or a numeric range.
 *
 * @param items the items as NDJSON, one JSON value per line (each line ends with a newline), or null for a range
 * @param itemCount number of items (for a range, {@code rangeEnd - rangeStart})
 * @param rangeStart first number of a range batch (inclusive), or null
 * @param rangeEnd end of a range batch (exclusive), or null
 */
public record BatchInput(String items, int itemCount, Long rangeStart, Long rangeEnd) {

  public boolean isRange() {
    return rangeStart != null;
  }
}
