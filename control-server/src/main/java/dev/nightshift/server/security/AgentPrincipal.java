package dev.nightshift.server.security;

/** The authenticated agent behind a request: the worker its token belongs to. */
public record AgentPrincipal(String workerId, String name) {
  @Override
  public String toString() {
    return name + " (" + workerId + ")";
  }
}
