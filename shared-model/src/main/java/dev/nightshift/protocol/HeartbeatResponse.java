package dev.nightshift.protocol;

import java.time.Instant;
import java.util.List;

/**
 * The server's answer to a heartbeat.
 *
 * @param serverTime the server's clock, so agents can report skew
 * @param heartbeatMillis how often to send heartbeats from now on
 * @param instructions what the agent must do (cancel a lease, drain, fetch code)
 * @param release the current promoted code, or null when none exists yet
 */
public record HeartbeatResponse(
    Instant serverTime, long heartbeatMillis, List<Instruction> instructions, CodeRelease release) {}
