package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.CodeRelease;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProtocolException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Results sent outside the loop's claims, alone, against an in-memory server. */
class ReportSenderTest {
  @TempDir Path data;
  private final FakeAgentServer server = new FakeAgentServer();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
  private final List<String> released = new ArrayList<>();
  private final List<String> prefetched = new ArrayList<>();
  private boolean stopping;
  private Enrollment enrollment;
  private ReportOutbox outbox;

  private ReportSender sender(boolean enrolled) {
    Identity id = enrolled ? new Identity("worker-0", "agent-token-0", "http://fake") : null;
    enrollment = new Enrollment(new IdentityStore(data.resolve("identity.json")), id, "http://fake", "enroll-token",
        "pc", 1, Map.of(), () -> new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17"));
    server.authenticateWith(enrollment::token);
    outbox = new ReportOutbox(spool(), clock,
        () -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), BackoffTest.highest()), 1 << 20);
    Instructions instructions = new Instructions(new Instructions.Effects() {
      @Override
      public void cancelLease(Long batchId, String leaseToken, String reason) {}

      @Override
      public boolean prefetch(String commit, String version) {
        prefetched.add(commit + " " + version);
        return true;
      }

      @Override
      public void heartbeatEvery(long millis) {}

      @Override
      public void wake() {}
    });
    return new ReportSender(server, enrollment, outbox, instructions,
        (refs, reason) -> released.add(refs + ": " + reason), () -> stopping);
  }

  private Spool spool() {
    return new Spool(data.resolve("spool"));
  }

  private void finished(long batchId, String output) throws IOException {
    Instant t = clock.instant();
    SpooledReport r = SpooledReport.of(1,
        new CompleteRequest(batchId, "token-" + batchId, null, null, 0, t, t, output, ""));
    outbox.add(r, spool().write(r));
  }

  @Test
  void aReportOnlyClaimAsksForNoBatchWaitsForNoneAndTheAcceptedResultLeavesTheSpool() throws Exception {
    ReportSender sender = sender(true);
    server.promote(new CodeRelease("c2", "2.0"));
    finished(1, "a");
    finished(2, "b");

    sender.sendReportsOnly();

    assertThat(server.claims()).singleElement().satisfies(c -> {
      assertThat(c.freeSlots()).isZero();
      assertThat(c.waitMillis()).isZero();
      assertThat(c.completed()).extracting(CompleteRequest::output).containsExactly("a", "b");
    });
    assertThat(server.completes()).hasSize(2);
    assertThat(server.separateCalls()).isZero();
    assertThat(outbox.isEmpty()).isTrue();
    assertThat(spool().list()).isEmpty();
    assertThat(prefetched).as("the release the answer names").containsExactly("c2 2.0");
    assertThat(released).isEmpty();
  }

  @Test
  void aFailedReportOnlyClaimKeepsTheResultsForARetry() throws Exception {
    ReportSender sender = sender(true);
    server.failReports(new ProtocolException(503, "down"));
    finished(1, "a");

    sender.sendReportsOnly();

    assertThat(server.completes()).isEmpty();
    assertThat(outbox.refs()).containsExactly(new LeaseRef(1, "token-1"));
    assertThat(outbox.nextRetry()).contains(clock.instant().plusSeconds(1));
    assertThat(spool().list()).hasSize(1);
  }

  @Test
  void aRefusedAgentTokenForgetsTheIdentityAndKeepsTheResults() throws Exception {
    ReportSender sender = sender(true);
    server.revoke("agent-token-0");
    finished(1, "a");

    sender.sendReportsOnly();

    assertThat(enrollment.current()).isEmpty();
    assertThat(outbox.refs()).containsExactly(new LeaseRef(1, "token-1"));
  }

  @Test
  void resultsAServerDoesNotAnswerOnClaimsGoOutWithSeparateCallsButNotWhileStopping() throws Exception {
    ReportSender sender = sender(true);
    server.ignoreClaimReports(true);
    finished(1, "a");
    stopping = true;

    sender.sendReportsOnly();

    assertThat(server.claims()).hasSize(1);
    assertThat(server.separateCalls()).isZero();
    assertThat(outbox.refs()).containsExactly(new LeaseRef(1, "token-1"));

    stopping = false;
    sender.sendSeparately(enrollment.current().orElseThrow());

    assertThat(server.separateCalls()).isEqualTo(1);
    assertThat(server.completes()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("a"));
    assertThat(outbox.isEmpty()).isTrue();
  }

  @Test
  void nothingIsSentBeforeEnrollmentOrWhenNothingIsDue() throws Exception {
    ReportSender sender = sender(false);
    finished(1, "a");
    sender.sendReportsOnly();
    sender.sendSeparately(null);

    ReportSender enrolled = sender(true);
    enrolled.sendReportsOnly();

    assertThat(server.claims()).isEmpty();
    assertThat(server.separateCalls()).isZero();
  }
}
