package dev.nightshift.protocol;

/** What the server did with a report. */
public enum ReportStatus {
  /** The report was recorded now. */
  ACCEPTED,
  /** The same report had already been recorded; nothing changed. */
  DUPLICATE
}
