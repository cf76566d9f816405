package dev.nightshift.protocol;

/** URL paths of the agent protocol, relative to the server's base URL. Versioned separately from the admin API. */
public final class AgentPaths {
  /** Protocol version; a server answers every version it still supports under its own prefix. */
  public static final String VERSION = "v1";

  public static final String PREFIX = "/agent/" + VERSION;
  public static final String REGISTER = PREFIX + "/register";
  public static final String HEARTBEAT = PREFIX + "/heartbeat";
  public static final String CLAIM = PREFIX + "/claim";
  public static final String COMPLETE = PREFIX + "/complete";
  public static final String FAIL = PREFIX + "/fail";
  public static final String RELEASE = PREFIX + "/release";

  /**
   * The processing code, a Git repository over smart HTTP (any stock git client works). Agents fetch with HTTP
   * Basic: any user name, their agent token as the password. The branch {@code worker} holds the current release.
   */
  public static final String GIT_REPOSITORY = "/git/code.git";

  /** The branch that holds the promoted code. */
  public static final String WORKER_BRANCH = "worker";

  /**
   * Header every agent call carries: a random id of the agent process. The server refuses a second process using
   * the same identity (a cloned VM image) while the first keeps calling.
   */
  public static final String AGENT_INSTANCE_HEADER = "Nightshift-Agent-Instance";

  /**
   * Header naming the instance id of the agent process that ran on the same data dir before this one (kept in the
   * data dir). A restarted agent proves with it that it succeeds the process the server knows, and takes its
   * identity over at once; a clone that copied the data dir is found out when the original calls again.
   */
  public static final String AGENT_PREVIOUS_INSTANCE_HEADER = "Nightshift-Agent-Previous-Instance";

  /** Header carrying the agent's own version, for the server's worker view and compatibility checks. */
  public static final String AGENT_VERSION_HEADER = "Nightshift-Agent-Version";

  private AgentPaths() {}
}
