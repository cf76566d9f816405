package dev.nightshift.protocol;

/**
 * A request for work.
 *
 * @param freeSlots the most batches the agent will take
 * @param waitMillis how long the server may hold the request open waiting for work (long poll), 0 for no wait
 */
public record ClaimRequest(int freeSlots, long waitMillis) {}
