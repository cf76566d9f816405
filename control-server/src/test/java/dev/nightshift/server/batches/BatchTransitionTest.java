package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.BatchState;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The batch state machine as a table: which moves exist, and what each does to its job's counters. */
class BatchTransitionTest {

  /** Every pair of states: the transition between them, or none. Anything not listed here must not exist. */
  @ParameterizedTest(name = "{0} -> {1}: {2}")
  @CsvSource({
    "PENDING,   LEASED,    LEASE",
    "LEASED,    SUCCEEDED, SUCCEED",
    "LEASED,    PENDING,   REQUEUE",
    "LEASED,    DEAD,      BURY",
    "PENDING,   CANCELLED, CANCEL_PENDING",
    "LEASED,    CANCELLED, CANCEL_LEASED",
    "DEAD,      PENDING,   REVIVE",
    "PENDING,   SUCCEEDED, ",
    "PENDING,   DEAD,      ",
    "SUCCEEDED, PENDING,   ",
    "SUCCEEDED, LEASED,    ",
    "SUCCEEDED, CANCELLED, ",
    "CANCELLED, PENDING,   ",
    "DEAD,      LEASED,    ",
    "DEAD,      CANCELLED, ",
    "LEASED,    LEASED,    ",
  })
  void transitionBetween(BatchState from, BatchState to, BatchTransition expected) {
    assertThat(BatchTransition.between(from, to)).isEqualTo(expected);
  }

  @Test
  void noOtherTransitionExists() {
    List<String> moves = new ArrayList<>();
    for (BatchState from : BatchState.values()) {
      for (BatchState to : BatchState.values()) {
        if (BatchTransition.between(from, to) != null) {
          moves.add(from + "->" + to);
        }
      }
    }
    assertThat(moves).hasSize(BatchTransition.values().length);
    // Terminal states are left only by an admin's retry of dead batches.
    for (BatchTransition t : BatchTransition.values()) {
      if (t.from.isTerminal()) {
        assertThat(t).isEqualTo(BatchTransition.REVIVE);
      }
    }
  }

  /** Each transition moves n batches from one counter to another: counters are conserved. */
  @ParameterizedTest
  @EnumSource(BatchTransition.class)
  void countersMoveFromOneStateToTheOther(BatchTransition t) {
    JobCounters.Delta d = t.delta(3, 30);
    assertThat(d.pending() + d.leased() + d.succeeded() + d.dead() + d.cancelled()).isZero();
    assertThat(JobCounters.Delta.ofState(t.from, 3).plus(d)).isEqualTo(
        JobCounters.Delta.ofState(t.to, 3).plus(new JobCounters.Delta(0, 0, 0, 0, 0, d.succeededItems())));
    assertThat(d.succeededItems()).isEqualTo(t == BatchTransition.SUCCEED ? 30 : 0);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "LEASE,          '0,-1,1,0,0,0,0'",
    "SUCCEED,        '0,0,-1,1,0,0,5'",
    "REQUEUE,        '0,1,-1,0,0,0,0'",
    "BURY,           '0,0,-1,0,1,0,0'",
    "CANCEL_PENDING, '0,-1,0,0,0,1,0'",
    "CANCEL_LEASED,  '0,0,-1,0,0,1,0'",
    "REVIVE,         '0,1,0,0,-1,0,0'",
  })
  void countersOfOneBatch(BatchTransition t, String expected) {
    JobCounters.Delta d = t.delta(1, 5);
    String actual =
        String.join(",", List.of("0", "" + d.pending(), "" + d.leased(), "" + d.succeeded(), "" + d.dead(),
            "" + d.cancelled(), "" + d.succeededItems()));
    assertThat(actual).isEqualTo(expected);
  }

  @Test
  void onlyLeavingUnfinishedStatesMayFinishAJob() {
    Set<BatchTransition> finishing = Set.of(BatchTransition.SUCCEED, BatchTransition.BURY,
        BatchTransition.CANCEL_PENDING, BatchTransition.CANCEL_LEASED);
    for (BatchTransition t : BatchTransition.values()) {
      assertThat(t.delta(1, 1).mayFinish()).as(t.name()).isEqualTo(finishing.contains(t));
    }
  }
}
