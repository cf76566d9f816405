package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.CodeRelease;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.Instruction;
import dev.nightshift.protocol.InstructionType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The server's orders alone: what each instruction does, in which order, through recorded effects. */
class InstructionsTest {
  /** Records every effect as one line. */
  private static final class Recorded implements Instructions.Effects {
    final List<String> done = new ArrayList<>();
    boolean distributesCode = true;

    @Override
    public void cancelLease(Long batchId, String leaseToken, String reason) {
      done.add("cancel " + batchId + " " + leaseToken + " (" + reason + ")");
    }

    @Override
    public boolean prefetch(String commit, String version) {
      done.add("prefetch " + commit + " " + version);
      return distributesCode;
    }

    @Override
    public void heartbeatEvery(long millis) {
      done.add("heartbeat every " + millis);
    }

    @Override
    public void wake() {
      done.add("wake");
    }
  }

  private final Recorded effects = new Recorded();
  private final Instructions instructions = new Instructions(effects);

  private static HeartbeatResponse reply(long heartbeatMillis, CodeRelease release, Instruction... in) {
    return new HeartbeatResponse(Instant.parse("2026-11-22T10:00:00Z"), heartbeatMillis, Arrays.asList(in), release);
  }

  @Test
  void aHeartbeatReplySetsTheIntervalThenFollowsEachInstructionInOrderThenOffersTheRelease() {
    instructions.heartbeatAnswered(reply(
        5_000,
        new CodeRelease("c2", "2.0"),
        Instruction.cancelLease(7, "token-7", "reaped"),
        new Instruction(InstructionType.PREFETCH_CODE, null, null, "c3", "next"),
        Instruction.cancelLease(8, null, null)));

    assertThat(effects.done).containsExactly(
        "heartbeat every 5000",
        "cancel 7 token-7 (cancelled by the server: reaped)",
        "prefetch c3 null",
        "cancel 8 null (cancelled by the server)",
        "prefetch c2 2.0");
  }

  @Test
  void aReplyWithoutIntervalInstructionsOrReleaseDoesNothing() {
    instructions.heartbeatAnswered(null);
    instructions.heartbeatAnswered(new HeartbeatResponse(Instant.EPOCH, 0, null, null));
    instructions.releaseNamed(null);
    instructions.follow(null);
    instructions.follow(new Instruction(null, 1L, "token-1", null, "no type"));

    assertThat(effects.done).isEmpty();
    assertThat(instructions.isDraining()).isFalse();
  }

  @Test
  void drainStopsClaimsUntilResumeAndResumeWakesTheLoop() {
    assertThat(instructions.drainingBecause()).isNull();

    instructions.follow(Instruction.of(InstructionType.DRAIN, "maintenance"));
    assertThat(instructions.isDraining()).isTrue();
    assertThat(instructions.drainingBecause()).isEqualTo("draining: maintenance");
    instructions.follow(Instruction.of(InstructionType.DRAIN, "still maintenance"));
    assertThat(instructions.drainingBecause()).isEqualTo("draining: still maintenance");
    assertThat(effects.done).as("a drain only stops later claims").isEmpty();

    instructions.follow(Instruction.of(InstructionType.RESUME, "done"));
    assertThat(instructions.isDraining()).isFalse();
    assertThat(instructions.drainingBecause()).isNull();
    assertThat(effects.done).containsExactly("wake");
  }

  @Test
  void aDrainWithoutReasonSaysTheServerOrderedIt() {
    instructions.follow(Instruction.of(InstructionType.DRAIN, null));
    assertThat(instructions.drainingBecause()).isEqualTo("draining: ordered by the server");
  }

  @Test
  void resumeWithoutDrainStillWakesTheLoop() {
    instructions.follow(Instruction.of(InstructionType.RESUME, null));
    assertThat(instructions.isDraining()).isFalse();
    assertThat(effects.done).containsExactly("wake");
  }

  @Test
  void aClaimAnswerNamingAReleaseOffersIt() {
    effects.distributesCode = false; // refused: nothing else happens
    instructions.releaseNamed(new CodeRelease("c1", "1.0"));
    instructions.follow(new Instruction(InstructionType.PREFETCH_CODE, null, null, "c1", null));
    assertThat(effects.done).containsExactly("prefetch c1 1.0", "prefetch c1 null");
  }
}
