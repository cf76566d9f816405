package dev.nightshift.agent.identity;

/**
 * Who this agent is to its server, persisted in {@code <data>/identity.json}.
 *
 * @param workerId the worker id the server gave at enrollment
 * @param agentToken the bearer token for every call after register
 * @param server the server's base URL the identity belongs to
 */
public record Identity(String workerId, String agentToken, String server) {

  /** Never prints the token. */
  @Override
  public String toString() {
    return "Identity[workerId=" + workerId + ", server=" + server + "]";
  }
}
