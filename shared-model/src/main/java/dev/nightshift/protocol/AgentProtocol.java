package dev.nightshift.protocol;

/**
 * The agent-server protocol, written once: the agent's HTTP client, the server's controller and the test fakes all
 * follow it. Every call except {@link #register} is authenticated with the agent token returned by register.
 *
 * <p>Errors are RFC 9457 problem details; an implementation throws {@link ProtocolException} carrying the status.
 * The ones an agent must act on: 401 (token unknown or revoked: enroll again), 403 (not this agent's lease),
 * 409 (lease token stale: the batch was reaped, cancelled or finished elsewhere; drop the result).
 */
public interface AgentProtocol {

  /** Enrolls a new agent (or re-enrolls a known worker id) with an enrollment token. */
  RegisterResponse register(RegisterRequest request);

  /** Reports the agent's state and the leases it holds; renews exactly those leases. */
  HeartbeatResponse heartbeat(HeartbeatRequest request);

  /** Asks for up to {@code freeSlots} batches, waiting up to {@code waitMillis} for work to appear. */
  ClaimResponse claim(ClaimRequest request);

  /** Reports a successful run. Idempotent: a repeat of an accepted report answers {@link ReportStatus#DUPLICATE}. */
  ReportResponse complete(CompleteRequest request);

  /** Reports an unsuccessful run (non-zero exit, crash, timeout, vacate). Idempotent like complete. */
  ReportResponse fail(FailRequest request);

  /** Gives leases back at once so their batches are requeued without waiting for expiry. */
  ReleaseResponse release(ReleaseRequest request);
}
