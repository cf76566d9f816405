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
import dev.nightshift.protocol.ReportAnswer;
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

/**
 * An in-memory control server following {@link AgentProtocol}: hands out queued leases, records every call. Reports
 * carried by claims are recorded like the separate calls (into {@link #completes} and {@link #fails}) and answered
 * one by one, ACCEPTED unless {@link #answerReports} queued other statuses. Optionally parks claims that find no
 * work ({@link #parkClaims}), as the real server's long poll does.
 */
public final class FakeAgentServer implements AgentProtocol {
  private final Deque<Lease> pending = new ArrayDeque<>();
  private final Deque<ReportStatus> reportAnswers = new ArrayDeque<>();
  private final Set<String> outstanding = new HashSet<>(); // leases granted and neither reported nor released
  private int maxOutstanding;
  private int separateCalls;
  private int parkedNow;
  private boolean parkClaims;
  private boolean ignoreClaimReports;
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
  private volatile Consumer<ClaimRequest> beforeClaim = r -> {};
  private CodeRelease release;
  private dev.nightshift.protocol.AgentOffer agentOffer;

  public synchronized void add(Lease lease) {
    pending.add(lease);
    notifyAll(); // answers a parked claim
  }

  /** The next reports carried by claims are answered with these, in order (then ACCEPTED again). */
  public synchronized void answerReports(ReportStatus... statuses) {
    reportAnswers.addAll(List.of(statuses));
  }

  /** Acts as a server from before reports rode on claims: their fields are ignored, nothing is answered. */
  public synchronized void ignoreClaimReports(boolean ignore) {
    ignoreClaimReports = ignore;
  }

  /** Claims without reports that find no work wait (up to their waitMillis) until a lease is added. */
  public synchronized void parkClaims(boolean park) {
    parkClaims = park;
    notifyAll();
  }

  /** How many claims are parked right now. */
  public synchronized int parkedClaims() {
    return parkedNow;
  }

  /** The most leases this agent held at once (granted, not yet reported or released). */
  public synchronized int maxOutstanding() {
    return maxOutstanding;
  }

  /** How many separate complete/fail calls were made. */
  public synchronized int separateCalls() {
    return separateCalls;
  }

  /** The next requests carrying reports (a claim with reports, or a complete/fail call) throw these, in order. */
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

  /** Heartbeat replies offer this agent build from now on (null: none). */
  public synchronized void offerAgent(dev.nightshift.protocol.AgentOffer offer) {
    this.agentOffer = offer;
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

  /**
   * Runs on the calling thread as each claim arrives, before the server looks at it and without holding it: a test
   * can hold one claim on its way (e.g. on a latch) while others go through.
   */
  public void beforeClaim(Consumer<ClaimRequest> hook) {
    beforeClaim = hook;
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
    return new HeartbeatResponse(Instant.now(), 30_000, out, release, agentOffer);
  }

  @Override
  public ClaimResponse claim(ClaimRequest request) {
    beforeClaim.accept(request);
    return claimArrived(request);
  }

  private synchronized ClaimResponse claimArrived(ClaimRequest request) {
    authenticate();
    claims.add(request);
    if (claimError != null) {
      throw claimError;
    }
    List<ReportAnswer> answers = new ArrayList<>();
    if (request.reportCount() > 0 && !ignoreClaimReports) {
      reportAttempts += request.reportCount();
      if (!reportErrors.isEmpty()) {
        throw reportErrors.poll();
      }
      if (request.completed() != null) {
        for (CompleteRequest c : request.completed()) {
          beforeReport.accept(c);
          answers.add(record(c.batchId(), c.leaseToken(), () -> completes.add(c)));
        }
      }
      if (request.failed() != null) {
        for (FailRequest f : request.failed()) {
          beforeReport.accept(f);
          answers.add(record(f.batchId(), f.leaseToken(), () -> fails.add(f)));
        }
      }
    }
    long deadline = System.nanoTime() + request.waitMillis() * 1_000_000;
    while (parkClaims && pending.isEmpty() && request.reportCount() == 0 && System.nanoTime() < deadline) {
      parkedNow++;
      try {
        wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ProtocolException(0, "interrupted");
      } finally {
        parkedNow--;
      }
    }
    List<Lease> out = new ArrayList<>();
    while (out.size() < request.freeSlots() && !pending.isEmpty()) {
      Lease l = pending.poll();
      out.add(l);
      outstanding.add(l.leaseToken());
    }
    maxOutstanding = Math.max(maxOutstanding, outstanding.size());
    return new ClaimResponse(out, release, answers);
  }

  private ReportAnswer record(long batchId, String token, Runnable accept) {
    ReportStatus status = reportAnswers.isEmpty() ? ReportStatus.ACCEPTED : reportAnswers.poll();
    if (status == ReportStatus.ACCEPTED) {
      accept.run();
    }
    if (status.isFinal()) {
      outstanding.remove(token);
    }
    return new ReportAnswer(batchId, token, status, status == ReportStatus.ACCEPTED ? null : "fake says " + status);
  }

  @Override
  public synchronized ReportResponse complete(CompleteRequest request) {
    authenticate();
    reportAttempts++;
    separateCalls++;
    beforeReport.accept(request);
    if (!reportErrors.isEmpty()) {
      throw reportErrors.poll();
    }
    outstanding.remove(request.leaseToken());
    completes.add(request);
    return new ReportResponse(ReportStatus.ACCEPTED);
  }

  @Override
  public synchronized ReportResponse fail(FailRequest request) {
    authenticate();
    reportAttempts++;
    separateCalls++;
    beforeReport.accept(request);
    if (!reportErrors.isEmpty()) {
      throw reportErrors.poll();
    }
    outstanding.remove(request.leaseToken());
    fails.add(request);
    return new ReportResponse(ReportStatus.ACCEPTED);
  }

  @Override
  public synchronized ReleaseResponse release(ReleaseRequest request) {
    releases.add(request);
    request.leases().forEach(l -> outstanding.remove(l.leaseToken()));
    return new ReleaseResponse(request.leases().size());
  }
}
