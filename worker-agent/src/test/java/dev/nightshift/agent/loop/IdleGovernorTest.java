package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.agent.loop.IdleGovernor.Action;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The idle governor as a table: verdict × suspended × how long × vacate-after → what happens to the batch. */
class IdleGovernorTest {
  @ParameterizedTest(name = "run={0} suspended={1} for={2}s vacateAfter={3}s -> {4}")
  @CsvSource({
    // idle: run on, resume what was suspended
    "true,  false, 0,   600, NONE",
    "true,  true,  30,  600, RESUME",
    "true,  true,  900, 600, RESUME",
    "true,  false, 0,   0,   NONE",
    // owner back: suspend first, vacate once suspended for vacate-after
    "false, false, 0,   600, SUSPEND",
    "false, true,  0,   600, NONE",
    "false, true,  599, 600, NONE",
    "false, true,  600, 600, VACATE",
    "false, true,  601, 600, VACATE",
    // vacate-after 0: never suspend, vacate at once
    "false, false, 0,   0,   VACATE",
    "false, true,  0,   0,   VACATE",
  })
  void decides(boolean run, boolean suspended, long forSeconds, long vacateAfterSeconds, Action expected) {
    assertThat(IdleGovernor.decide(run, suspended, Duration.ofSeconds(forSeconds), Duration.ofSeconds(vacateAfterSeconds)))
        .isEqualTo(expected);
  }
}
