package dev.nightshift.agent.identity;

import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Holds the agent's current identity and enrolls (again) when there is none or the server refused the agent
 * token. Shared by the claim loop and the heartbeat; the HTTP client reads the token through {@link #token()}.
 */
public final class Enrollment {
  private static final Logger LOG = Logger.getLogger(Enrollment.class.getName());

  /** What {@link #ensureEnrolled} achieved. */
  public enum Status {
    ENROLLED,
    /** No identity and no enrollment token: nothing the agent can do but wait and say so. */
    NEEDS_TOKEN
  }

  private final IdentityStore store;
  private final String server;
  private final String enrollmentToken;
  private final String name;
  private final int slots;
  private final Map<String, String> labels;
  private final Supplier<HostFacts> hostFacts;
  private volatile Identity current;
  private volatile long heartbeatMillis;

  /**
   * @param existing the identity loaded at startup, or null
   * @param server the server base URL, recorded with the identity
   * @param enrollmentToken the enrollment token, or null when only an existing identity can be used
   */
  public Enrollment(
      IdentityStore store,
      Identity existing,
      String server,
      String enrollmentToken,
      String name,
      int slots,
      Map<String, String> labels,
      Supplier<HostFacts> hostFacts) {
    this.store = store;
    this.current = existing;
    this.server = server;
    this.enrollmentToken = enrollmentToken;
    this.name = name;
    this.slots = slots;
    this.labels = Map.copyOf(labels);
    this.hostFacts = hostFacts;
  }

  public Optional<Identity> current() {
    return Optional.ofNullable(current);
  }

  /** The agent token for the Authorization header, or null before enrollment. */
  public String token() {
    Identity id = current;
    return id == null ? null : id.agentToken();
  }

  /** The heartbeat interval the last register answer named, 0 when unknown. */
  public long heartbeatMillis() {
    return heartbeatMillis;
  }

  public boolean hasEnrollmentToken() {
    return enrollmentToken != null;
  }

  /**
   * Registers with the enrollment token when there is no identity yet and persists the answer.
   *
   * @throws dev.nightshift.protocol.ProtocolException when the server refuses or cannot be reached
   */
  public synchronized Status ensureEnrolled(AgentProtocol protocol) {
    if (current != null) {
      return Status.ENROLLED;
    }
    if (enrollmentToken == null) {
      return Status.NEEDS_TOKEN;
    }
    RegisterResponse r =
        protocol.register(new RegisterRequest(enrollmentToken, name, hostFacts.get(), slots, labels));
    Identity id = new Identity(r.workerId(), r.agentToken(), server);
    store.save(id);
    heartbeatMillis = r.heartbeatMillis();
    current = id;
    LOG.info("enrolled with " + server + " as worker " + id.workerId() + "; identity saved in " + store.file());
    return Status.ENROLLED;
  }

  /**
   * The server answered 401 to a call made with {@code refused}: forget that identity so the next
   * {@link #ensureEnrolled} registers again. A refusal of an identity already replaced is ignored.
   */
  public synchronized void refused(Identity refused) {
    if (refused == null || current != refused) {
      return;
    }
    if (enrollmentToken != null) {
      LOG.warning(
          "agent token refused by " + server + " (revoked or unknown): enrolling again with the enrollment token");
      current = null;
    } else {
      LOG.warning("agent token refused: enroll again with --enrollment-token (or NIGHTSHIFT_ENROLLMENT_TOKEN)");
    }
  }
}
