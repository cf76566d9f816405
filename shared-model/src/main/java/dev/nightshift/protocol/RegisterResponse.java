package dev.nightshift.protocol;

/**
 * The identity the agent persists in its data directory.
 *
 * @param workerId the worker's id, stable for the agent's life
 * @param agentToken the agent's bearer token; shown only here, stored hashed on the server
 * @param heartbeatMillis how often to send heartbeats
 * @param leaseMillis how long a lease lasts without a renewing heartbeat
 */
public record RegisterResponse(String workerId, String agentToken, long heartbeatMillis, long leaseMillis) {}
