package dev.nightshift.agent.testing;

import dev.nightshift.protocol.AgentProtocol;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.CodeRelease;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.ReleaseRequest;
import dev.nightshift.protocol.ReleaseResponse;
import dev.nightshift.protocol.ReportResponse;
import dev.nightshift.protocol.ReportStatus;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** An in-memory control server following {@link AgentProtocol}: hands out queued leases, records every call. */
public final class FakeAgentServer implements AgentProtocol {
  private final Deque<Lease> pending = new ArrayDeque<>();
  private final Deque<RuntimeException> reportErrors = new ArrayDeque<>();
  private final Deque<Instruction> instructions = new ArrayDeque<>();
  private final Set<String> revokedTokens = new HashSet<>();
  public final List<ClaimRequest> claims = new ArrayList<>();
  public final List<CompleteRequest> completes = new ArrayList<>();
  public final List<FailRequest> fails = new ArrayList<>();
  public final List<HeartbeatRequest> heartbeats = new ArrayList<>();
  public final List<ReleaseRequest> releases = new ArrayList<>();
  public final List<RegisterRequest> registers = new ArrayList<>();
  private int reportAttempts;
  private int registered;
  private RuntimeException claimError;
  private Supplier<String> token = () -> null;
  private Consumer<Object> beforeReport = r -> {};
  private CodeRelease release;

  public synchronized void add(Lease lease) {
    pending.add(lease);
  }

  /** The next reports throw these, in order. */
  public synchronized void failReports(RuntimeException... errors) {
    reportErrors.addAll(List.of(errors));
  }

  public synchronized void failClaims(RuntimeException error) {
    claimError = error;
  }

  /** Heartbeat replies and claim answers carry this release from now on (null: none promoted). */
  public synchronized void promote(CodeRelease current) {
    release = current;
  }

  public synchronized List<HeartbeatRequest> heartbeats() {
    return List.copyOf(heartbeats);
  }

  public synchronized void instruct(Instruction... in) {
    instructions.addAll(List.of(in));
  }

  /** Checks calls against this token source, as the HTTP client would send it. */
  public synchronized void authenticateWith(Supplier<String> currentToken) {
    this.token = currentToken;
  }

  public synchronized void revoke(String agentToken) {
    revokedTokens.add(agentToken);
  }

  /** Runs before each report is answered (e.g. to look at the spool). */
  public synchronized void beforeReport(Consumer<Object> hook) {
    beforeReport = hook;
  }

  public synchronized int reportAttempts() {
    return reportAttempts;
  }

  public synchronized List<CompleteRequest> completes() {
    return List.copyOf(completes);
  }

  public synchronized List<ClaimRequest> claims() {
    return List.copyOf(claims);
  }

  public synchronized List<ReleaseRequest> releases() {
    return List.copyOf(releases);
  }

  public synchronized List<FailRequest> fails() {
    return List.copyOf(fails);
  }

  private void authenticate() {
    String t = token.get();
    if (t != null && revokedTokens.contains(t)) {
      throw new ProtocolException(401, "agent token unknown or revoked");
    }
  }

  @Override
  public synchronized RegisterResponse register(RegisterRequest request) {
    registers.add(request);
    registered++;
    return new RegisterResponse("worker-" + registered, "agent-token-" + registered, 30_000, 120_000);
  }

  @Override
  public synchronized HeartbeatResponse heartbeat(HeartbeatRequest request) {
    authenticate();
    heartbeats.add(request);
    List<Instruction> out = new ArrayList<>(instructions);
    instructions.clear();
    return new HeartbeatResponse(Instant.now(), 30_000, out, release);
  }

  @Override
  public synchronized ClaimResponse claim(ClaimRequest request) {
    authenticate();
    claims.add(request);
    if (claimError != null) {
      throw claimError;
    }
    List<Lease> out = new ArrayList<>();
    while (out.size() < request.freeSlots() && !pending.isEmpty()) {
      out.add(pending.poll());
    }
    return new ClaimResponse(out, release);
  }

  @Override
  public synchronized ReportResponse complete(CompleteRequest request) {
    authenticate();
    reportAttempts++;
    beforeReport.accept(request);
    if (!reportErrors.isEmpty()) {
      throw reportErrors.poll();
    }
    completes.add(request);
    return new ReportResponse(ReportStatus.ACCEPTED);
  }

  @Override
  public synchronized ReportResponse fail(FailRequest request) {
    authenticate();
    reportAttempts++;
    beforeReport.accept(request);
    if (!reportErrors.isEmpty()) {
      throw reportErrors.poll();
    }
    fails.add(request);
    return new ReportResponse(ReportStatus.ACCEPTED);
  }

  @Override
  public synchronized ReleaseResponse release(ReleaseRequest request) {
    releases.add(request);
    return new ReleaseResponse(request.leases().size());
  }
}
