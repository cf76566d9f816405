package dev.nightshift.protocol;

/**
 * What the server did with one report carried by a claim.
 *
 * @param batchId the reported batch
 * @param leaseToken the reported lease token
 * @param status the outcome; {@link ReportStatus#isFinal()} says whether the agent may forget the result
 * @param detail the reason in words, for the agent's log (null for ACCEPTED)
 */
public record ReportAnswer(long batchId, String leaseToken, ReportStatus status, String detail) {}
