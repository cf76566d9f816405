package dev.nightshift.agent.system;

/** The agent's own version, from the jar manifest's Implementation-Version ("dev" when run from classes). */
public final class AgentVersion {
  private AgentVersion() {}

  public static String current() {
    String v = AgentVersion.class.getPackage().getImplementationVersion();
    return v == null || v.isBlank() ? "dev" : v;
  }
}
