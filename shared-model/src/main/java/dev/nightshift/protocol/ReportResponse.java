package dev.nightshift.protocol;

/** The answer to complete or fail. */
public record ReportResponse(ReportStatus status) {}
