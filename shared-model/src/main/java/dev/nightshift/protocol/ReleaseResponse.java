package dev.nightshift.protocol;

/** How many of the given leases were still held and are now requeued. */
public record ReleaseResponse(int released) {}
