package dev.nightshift.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.WorkerState;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** An agent speaking the real protocol over HTTP, driven step by step by a test. */
public final class TestAgent {
  public final String workerId;
  public final String token;
  public final Http http;
  /** The slots it enrolled with, declared again in its heartbeats (the server grants no more leases than that). */
  public final int slots;

  private TestAgent(String workerId, String token, Http http, int slots) {
    this.workerId = workerId;
    this.token = token;
    this.http = http;
    this.slots = slots;
  }

  public static TestAgent enroll(int port, String name, int slots, Map<String, String> labels) {
    Http.Response r =
        Http.anonymous(port)
            .post(
                AgentPaths.REGISTER,
                new RegisterRequest(
                    Http.ENROLLMENT_TOKEN,
                    name,
                    new HostFacts(name, "Linux", "amd64", 2, 1L << 30, "test", "17"),
                    slots,
                    labels));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    RegisterResponse reg = Http.JSON.readValue(r.body(), RegisterResponse.class);
    return new TestAgent(reg.workerId(), reg.agentToken(), Http.bearer(port, reg.agentToken()), slots);
  }

  public List<Lease> claim(int slots, long waitMillis) {
    Http.Response r = http.post(AgentPaths.CLAIM, new ClaimRequest(slots, waitMillis));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return Http.JSON.readValue(r.body(), ClaimResponse.class).leases();
  }

  public Http.Response complete(Lease lease, String output) {
    Instant now = Instant.now();
    return http.post(
        AgentPaths.COMPLETE,
        new CompleteRequest(
            lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(), 0, now, now, output, ""));
  }

  /** Reports a failed run (exit 1) with an error and the tail of its stderr. */
  public Http.Response fail(Lease lease, String error, String logTail) {
    Instant now = Instant.now();
    return http.post(
        AgentPaths.FAIL,
        new dev.nightshift.protocol.FailRequest(
            lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(),
            dev.nightshift.protocol.AttemptOutcome.FAILED, 1, now, now, error, logTail));
  }

  public HeartbeatResponse heartbeat(List<LeaseRef> leases) {
    Http.Response r =
        http.post(AgentPaths.HEARTBEAT, new HeartbeatRequest(WorkerState.IDLE, "ready", slots, Math.max(0, slots - leases.size()), leases, null));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return Http.JSON.readValue(r.body(), HeartbeatResponse.class);
  }
}
