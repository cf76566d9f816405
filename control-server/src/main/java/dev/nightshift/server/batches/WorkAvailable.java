package dev.nightshift.server.batches;

/** Published (inside the transaction) when batches became claimable now; waiting claims wake after commit. */
public record WorkAvailable(String why) {}
