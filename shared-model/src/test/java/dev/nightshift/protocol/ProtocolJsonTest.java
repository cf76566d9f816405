package dev.nightshift.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** Every protocol record survives a JSON round trip with a plain Jackson 3 mapper, as both sides use. */
class ProtocolJsonTest {
  private final JsonMapper json =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  @Test
  void recordsRoundTrip() {
    Instant now = Instant.parse("2026-11-22T10:15:30.123456Z");
    List<Object> samples =
        List.of(
            new RegisterRequest(
                "tok", "pc-1", new HostFacts("pc-1", "Linux 6.1", "amd64", 8, 1L << 34, "0.1.0", "17"), 2,
                Map.of("os", "linux")),
            new RegisterResponse("w-1", "nsa_x", 30_000, 120_000),
            new HeartbeatRequest(WorkerState.BUSY, "running 1 batch", 2, 1, List.of(new LeaseRef(7, "t")), null),
            new HeartbeatResponse(
                now, 30_000, List.of(Instruction.cancelLease(7, "t", "job cancelled")), new CodeRelease("abc", "1.0")),
            new ClaimRequest(2, 30_000),
            new ClaimResponse(
                List.of(
                    new Lease(7, 3, 1, "t", now, "abc", "1.0", "wc -l", 60, new BatchInput("1\n2\n", 2, null, null),
                        Map.of("K", "V"))),
                new CodeRelease("abc", "1.0")),
            new CompleteRequest(7, "t", "abc", "1.0", 0, now, now, "{\"a\":1}\n", "log"),
            new FailRequest(7, "t", null, null, AttemptOutcome.TIMED_OUT, null, now, now, "timed out", ""),
            new ReportResponse(ReportStatus.DUPLICATE),
            new ClaimRequest(
                4, 0,
                List.of(new CompleteRequest(7, "t", "abc", "1.0", 0, now, now, "x\n", "")),
                List.of(new FailRequest(8, "u", null, null, AttemptOutcome.FAILED, 2, now, now, "exit 2", "e"))),
            new ClaimResponse(
                List.of(), null,
                List.of(new ReportAnswer(7, "t", ReportStatus.ACCEPTED, null),
                    new ReportAnswer(8, "u", ReportStatus.STALE, "the lease expired"))),
            new ReleaseRequest(List.of(new LeaseRef(7, "t")), "shutdown"),
            new ReleaseResponse(1));
    for (Object sample : samples) {
      String text = json.writeValueAsString(sample);
      assertThat(json.readValue(text, sample.getClass())).as(text).isEqualTo(sample);
    }
  }

  @Test
  void instantsTravelAsIsoText() {
    String text = json.writeValueAsString(new HeartbeatResponse(Instant.EPOCH, 1, List.of(), null));
    assertThat(text).contains("\"1970-01-01T00:00:00Z\"");
  }

  @Test
  void selfUpdateFieldsRoundTripAndOlderPeersStillUnderstandEachOther() {
    Instant now = Instant.parse("2026-12-03T10:00:00Z");
    HeartbeatRequest beat =
        new HeartbeatRequest(WorkerState.IDLE, "waiting", 1, 1, List.of(), null, null, "0.2.0", "0.3.0");
    assertThat(json.readValue(json.writeValueAsString(beat), HeartbeatRequest.class)).isEqualTo(beat);
    HeartbeatResponse reply =
        new HeartbeatResponse(now, 30_000, List.of(), null, new AgentOffer("0.3.1", "ab".repeat(32), "/install/x.jar"));
    assertThat(json.readValue(json.writeValueAsString(reply), HeartbeatResponse.class)).isEqualTo(reply);

    // an agent older than self-update: no version, so no offer; a server older than it: no offer in the reply
    HeartbeatRequest old =
        json.readValue("{\"state\":\"IDLE\",\"slots\":1,\"freeSlots\":1,\"leases\":[]}", HeartbeatRequest.class);
    assertThat(old.agentVersion()).isNull();
    assertThat(old.agentRefused()).isNull();
    HeartbeatResponse older =
        json.readValue("{\"serverTime\":\"2026-12-03T10:00:00Z\",\"heartbeatMillis\":1,\"instructions\":[]}",
            HeartbeatResponse.class);
    assertThat(older.agent()).isNull();
  }

  @Test
  void unknownFieldsFromANewerServerAreIgnored() {
    ReportResponse r = json.readValue("{\"status\":\"ACCEPTED\",\"future\":1}", ReportResponse.class);
    assertThat(r.status()).isEqualTo(ReportStatus.ACCEPTED);
  }

  @Test
  void onlyRealFailuresCountTowardMaxAttempts() {
    assertThat(AttemptOutcome.VACATED.countsAsFailure()).isFalse();
    assertThat(AttemptOutcome.RELEASED.countsAsFailure()).isFalse();
    assertThat(AttemptOutcome.EXPIRED.countsAsFailure()).isTrue();
  }
}
