package dev.nightshift.protocol;

/** A lease as the agent names it: the batch and the token that fences every write about it. */
public record LeaseRef(long batchId, String leaseToken) {}
