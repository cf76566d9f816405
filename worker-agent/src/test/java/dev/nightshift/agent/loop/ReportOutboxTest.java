package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.agent.spool.Reporter;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.spool.SpooledReport;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ProblemReasons;
import dev.nightshift.protocol.ProtocolException;
import dev.nightshift.protocol.ReportAnswer;
import dev.nightshift.protocol.ReportStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox alone: what is due, what rides on a claim, and what each answer or failure does to the spool. */
class ReportOutboxTest {
  @TempDir Path dir;
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));

  private Spool spool() {
    return new Spool(dir.resolve("spool"));
  }

  private ReportOutbox outbox(long maxBytes) {
    return new ReportOutbox(
        spool(), clock, () -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), BackoffTest.highest()),
        maxBytes);
  }

  private SpooledReport complete(long batchId, String output) {
    Instant t = clock.instant();
    return SpooledReport.of(1, new CompleteRequest(batchId, "token-" + batchId, null, null, 0, t, t, output, ""));
  }

  private SpooledReport fail(long batchId) {
    Instant t = clock.instant();
    return SpooledReport.of(1, new FailRequest(
        batchId, "token-" + batchId, null, null, AttemptOutcome.FAILED, 2, t, t, "exit code 2", ""));
  }

  private ReportOutbox withSpooled(ReportOutbox box, SpooledReport... reports) throws IOException {
    for (SpooledReport r : reports) {
      box.add(r, spool().write(r));
    }
    return box;
  }

  private static ReportAnswer answer(long batchId, ReportStatus status) {
    return new ReportAnswer(batchId, "token-" + batchId, status, status == ReportStatus.ACCEPTED ? null : "why");
  }

  @Test
  void dueResultsRideTogetherCompletionsAndFailuresApartAndAreNotTakenTwice() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"), fail(2), complete(3, "c"));

    ReportOutbox.Batch batch = box.takeDue();

    assertThat(batch.completed()).extracting(CompleteRequest::batchId).containsExactly(1L, 3L);
    assertThat(batch.failed()).extracting(FailRequest::batchId).containsExactly(2L);
    assertThat(box.takeDue().isEmpty()).as("in flight").isTrue();
    assertThat(box.refs()).hasSize(3);
    assertThat(box.untilDue(Duration.ofSeconds(30))).as("nothing waits outside a claim").isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void resultsPutBackAreDueAgainAtOnceAndEveryWaitingResultNamesItsLeaseInFlightOrNot() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"), fail(2));
    ReportOutbox.Batch batch = box.takeDue();
    assertThat(box.tokens()).as("in flight, still waiting for answers").containsExactly("token-1", "token-2");

    box.putBack(batch); // the claim was not made after all

    assertThat(box.nextRetry()).as("no back-off").isEmpty();
    assertThat(box.takeDue().entries()).extracting(e -> e.ref.batchId()).containsExactly(1L, 2L);
    assertThat(spool().list()).hasSize(2);
  }

  @Test
  void aClaimCarriesResultsUpToTheByteBudgetButAlwaysAtLeastOne() throws Exception {
    ReportOutbox box = withSpooled(outbox(2_000), complete(1, "x".repeat(5_000)), complete(2, "y"), complete(3, "z"));

    assertThat(box.takeDue().completed()).extracting(CompleteRequest::batchId).containsExactly(1L);
    assertThat(box.takeDue().completed()).extracting(CompleteRequest::batchId).containsExactly(2L, 3L);
  }

  @Test
  void finalAnswersDeleteTheSpoolFileAndRetryBacksOff() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"), complete(2, "b"), complete(3, "c"));
    ReportOutbox.Batch batch = box.takeDue();

    box.answered(batch, List.of(
        answer(1, ReportStatus.ACCEPTED), answer(2, ReportStatus.STALE), answer(3, ReportStatus.RETRY)));

    assertThat(spool().list()).extracting(p -> p.getFileName().toString()).containsExactly("3-1.json");
    assertThat(box.refs()).containsExactly(new LeaseRef(3, "token-3"));
    assertThat(box.nextRetry()).contains(clock.instant().plusSeconds(1));
    assertThat(box.takeDue().isEmpty()).isTrue();
    clock.advance(Duration.ofSeconds(1));
    ReportOutbox.Batch again = box.takeDue();
    assertThat(again.completed()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("c"));
    box.answered(again, List.of(answer(3, ReportStatus.RETRY)));
    assertThat(box.nextRetry()).as("its own back-off grows").contains(clock.instant().plusSeconds(2));
  }

  @Test
  void aFailedClaimKeepsEveryResultAndBacksOff() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"), fail(2));
    ReportOutbox.Batch batch = box.takeDue();

    box.failed(batch, new ProtocolException(503, "down"));

    assertThat(spool().list()).hasSize(2);
    assertThat(box.nextRetry()).contains(clock.instant().plusSeconds(1));
    assertThat(box.untilDue(Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(1));
    clock.advance(Duration.ofSeconds(1));
    assertThat(box.takeDue().entries()).hasSize(2);
  }

  @Test
  void aClaimRefusedAsAWholeAndUnansweredReportsFallBackToSeparateCalls() throws Exception {
    FakeAgentServer server = new FakeAgentServer();
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"), fail(2), complete(3, "c"));
    ReportOutbox.Batch batch = box.takeDue();

    box.answered(batch, List.of(answer(1, ReportStatus.ACCEPTED))); // 2 and 3 unanswered
    assertThat(box.separateOnly()).isFalse();
    assertThat(box.takeDue().isEmpty()).isTrue();
    assertThat(box.hasSeparateDue()).isTrue();
    box.sendSeparately(new Reporter(server), () -> {});

    assertThat(server.fails()).extracting(FailRequest::batchId).containsExactly(2L);
    assertThat(server.completes()).extracting(CompleteRequest::batchId).containsExactly(3L);
    assertThat(box.isEmpty()).isTrue();
    assertThat(spool().list()).isEmpty();

    withSpooled(box, complete(4, "d"));
    box.failed(box.takeDue(), new ProtocolException(413, "too large"));
    assertThat(box.hasSeparateDue()).isTrue();
  }

  @Test
  void aServerThatAnswersNoReportOnClaimsSwitchesEveryResultToSeparateCalls() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"));

    box.answered(box.takeDue(), null);
    withSpooled(box, complete(2, "b"));

    assertThat(box.separateOnly()).isTrue();
    assertThat(box.takeDue().isEmpty()).isTrue();
    FakeAgentServer server = new FakeAgentServer();
    box.sendSeparately(new Reporter(server), () -> {});
    assertThat(server.completes()).extracting(CompleteRequest::batchId).containsExactly(1L, 2L);
  }

  @Test
  void aSeparateCallThatFailsKeepsTheResultAndA401IsReported() throws Exception {
    FakeAgentServer server = new FakeAgentServer();
    server.failReports(new ProtocolException(0, "cannot reach"), new ProtocolException(401, "revoked"));
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"));
    box.answered(box.takeDue(), null);
    int[] refused = {0};

    box.sendSeparately(new Reporter(server), () -> refused[0]++);
    assertThat(box.nextRetry()).contains(clock.instant().plusSeconds(1));
    clock.advance(Duration.ofSeconds(1));
    box.sendSeparately(new Reporter(server), () -> refused[0]++);

    assertThat(refused[0]).isEqualTo(1);
    assertThat(spool().list()).hasSize(1);
    assertThat(box.refs()).hasSize(1);
  }

  /**
   * Separate calls, one refusal each, in the order the outbox sends them (oldest first). Only a machine-readable
   * reason saying the lease can never be accepted deletes a result; a refusal of the report itself moves it aside;
   * everything else (a body cut short by the network, an identity conflict, 404/403 from a proxy, 5xx, 429) keeps it.
   */
  @Test
  void onlyAMachineReadableReasonEndsAResultSentSeparately() throws Exception {
    FakeAgentServer server = new FakeAgentServer();
    server.failReports(
        new ProtocolException(400, "HTTP 400: JSON parse error: Unexpected end-of-input"), // truncated body
        new ProtocolException(409, ProblemReasons.IDENTITY_IN_USE, "another agent is already using this identity"),
        new ProtocolException(409, ProblemReasons.IDENTITY_CLONED, "a copy of another agent's data dir"),
        new ProtocolException(404, "HTTP 404: <html>Not Found</html>"), // a proxy, not the server
        new ProtocolException(403, "HTTP 403: forbidden by proxy"),
        new ProtocolException(429, "slow down"),
        new ProtocolException(409, "STALE", "Stale lease"),
        new ProtocolException(403, "NOT_YOURS", "another worker's lease"),
        new ProtocolException(409, "WRONG_COMMIT", "other code"),
        new ProtocolException(400, "INVALID", "version is longer than 200 characters"),
        new ProtocolException(413, "too large"));
    ReportOutbox box = outbox(1 << 20);
    box.answered(withSpooled(box, complete(1, "a")).takeDue(), null); // separate calls from now on
    for (int i = 2; i <= 11; i++) {
      withSpooled(box, complete(i, "r" + i));
    }

    box.sendSeparately(new Reporter(server), () -> {});

    assertThat(spool().list())
        .extracting(p -> p.getFileName().toString())
        .as("kept: nothing was recorded, or the refusal named no reason")
        .containsExactly("1-1.json", "2-1.json", "3-1.json", "4-1.json", "5-1.json", "6-1.json");
    assertThat(dir.resolve("spool/10-1.json.rejected")).as("a refused report is kept aside").exists();
    assertThat(dir.resolve("spool/11-1.json.rejected")).exists();
    assertThat(box.refs()).extracting(LeaseRef::batchId).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);

    clock.advance(Duration.ofSeconds(1));
    box.sendSeparately(new Reporter(server), () -> {});
    assertThat(server.completes()).extracting(CompleteRequest::batchId).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(spool().list()).isEmpty();
  }

  @Test
  void anInvalidAnswerOnAClaimKeepsTheResultAside() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"), complete(2, "b"));

    box.answered(box.takeDue(), List.of(answer(1, ReportStatus.INVALID), answer(2, ReportStatus.CONFLICT)));

    assertThat(spool().list()).isEmpty();
    assertThat(dir.resolve("spool/1-1.json.rejected")).exists();
    assertThat(dir.resolve("spool/2-1.json.rejected")).as("CONFLICT: another result was accepted").doesNotExist();
    assertThat(box.isEmpty()).isTrue();
  }

  @Test
  void restoredResultsAreReadFromTheSpoolAndUnreadableOnesAreMovedAside() throws Exception {
    SpooledReport r = complete(7, "done");
    Path file = spool().write(r);
    ReportOutbox box = outbox(1 << 20);
    box.restore(r, file);
    Path bad = dir.resolve("spool/8-1.json");
    Files.writeString(bad, "{broken");
    box.restore(complete(8, "lost"), bad);

    ReportOutbox.Batch batch = box.takeDue();

    assertThat(batch.completed()).singleElement().satisfies(c -> assertThat(c.output()).isEqualTo("done"));
    assertThat(dir.resolve("spool/8-1.json.bad")).exists();
    assertThat(box.refs()).containsExactly(new LeaseRef(7, "token-7"));
  }

  @Test
  void restoringTheSpoolHoldsEveryReadableResultAndMovesTheOthersAside() throws Exception {
    spool().write(complete(7, "done"));
    spool().write(complete(9, "also done"));
    Files.writeString(dir.resolve("spool/8-1.json"), "{broken");
    ReportOutbox box = outbox(1 << 20);

    box.restoreSpooled();

    assertThat(box.refs()).containsExactlyInAnyOrder(new LeaseRef(7, "token-7"), new LeaseRef(9, "token-9"));
    assertThat(dir.resolve("spool/8-1.json.bad")).exists();
    assertThat(box.takeDue().completed()).extracting(c -> c.output()).containsExactlyInAnyOrder("done", "also done");
  }

  @Test
  void aDroppedResultIsForgottenEvenWhenItsAnswerArrivesLater() throws Exception {
    ReportOutbox box = withSpooled(outbox(1 << 20), complete(1, "a"));
    ReportOutbox.Batch batch = box.takeDue();

    assertThat(box.drop(new LeaseRef(1, "token-1"), "cancelled by the server")).isTrue();
    box.answered(batch, List.of(answer(1, ReportStatus.RETRY)));

    assertThat(box.isEmpty()).isTrue();
    assertThat(spool().list()).isEmpty();
  }
}
