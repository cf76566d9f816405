package dev.nightshift.server.security;

/**
 * The authenticated agent behind a request: the worker its token belongs to, with what a claim needs of the worker
 * row as read when the call was authenticated (its labels as stored, a JSON object, and whether it is drained), so
 * a claim reads the row once, not twice; and its reference data as last reported, JSON or null).
 */
public record AgentPrincipal(String workerId, String name, String labels, boolean drained, String data) {
  public AgentPrincipal(String workerId, String name) {
    this(workerId, name, "{}", false, null);
  }

  public AgentPrincipal(String workerId, String name, String labels, boolean drained) {
    this(workerId, name, labels, drained, null);
  }

  @Override
  public String toString() {
    return name + " (" + workerId + ")";
  }
}
