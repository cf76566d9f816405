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
 * @param agent the agent build to update to, or null: the agent runs it already, the admin holds updates, this
 *     worker is not in the canary share, or it refused that build before
 */
public record HeartbeatResponse(
    Instant serverTime, long heartbeatMillis, List<Instruction> instructions, CodeRelease release, AgentOffer agent) {

  /** A reply without an agent offer. */
  public HeartbeatResponse(
      Instant serverTime, long heartbeatMillis, List<Instruction> instructions, CodeRelease release) {
    this(serverTime, heartbeatMillis, instructions, release, null);
  }
}
