package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The error streak alone: one warning per streak of the same failure, one line when the server is back. */
class ErrorStreakTest {
  private final Logger logger = Logger.getLogger(ErrorStreak.class.getName());
  private final List<String> logged = new ArrayList<>();
  private final Handler recorder = new Handler() {
    @Override
    public void publish(LogRecord r) {
      logged.add(r.getLevel() + " " + r.getMessage());
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  private Level levelBefore;
  private final ErrorStreak streak = new ErrorStreak();

  @BeforeEach
  void record() {
    levelBefore = logger.getLevel();
    logger.setLevel(Level.ALL);
    logger.addHandler(recorder);
  }

  @AfterEach
  void stopRecording() {
    logger.removeHandler(recorder);
    logger.setLevel(levelBefore);
  }

  @Test
  void theSameFailureIsAWarningOnceThenDebugLinesCountingTheStreak() {
    streak.failed("server call failed: down", null);
    streak.failed("server call failed: down", null);
    streak.failed("server call failed: down", null);

    assertThat(logged).containsExactly(
        "WARNING server call failed: down; backing off",
        "FINE server call failed: down (again, 2 in a row)",
        "FINE server call failed: down (again, 3 in a row)");
    assertThat(streak.length()).isEqualTo(3);
  }

  @Test
  void aDifferentFailureIsWarnedAboutAgainWithinTheStreak() {
    streak.failed("server call failed: down", null);
    streak.failed("server call failed: timeout", null);
    streak.failed("server call failed: down", null);

    assertThat(logged).containsExactly(
        "WARNING server call failed: down; backing off",
        "WARNING server call failed: timeout; backing off",
        "WARNING server call failed: down; backing off");
    assertThat(streak.length()).isEqualTo(3);
  }

  @Test
  void recoveringAfterSeveralFailuresSaysHowManyAndStartsANewStreak() {
    streak.failed("server call failed: down", null);
    streak.failed("server call failed: down", null);
    streak.recovered();
    streak.failed("server call failed: down", null);

    assertThat(logged).containsExactly(
        "WARNING server call failed: down; backing off",
        "FINE server call failed: down (again, 2 in a row)",
        "INFO server reachable again after 2 failed attempts",
        "WARNING server call failed: down; backing off");
    assertThat(streak.length()).isEqualTo(1);
  }

  @Test
  void recoveringAfterOneFailureOrNoneLogsNothing() {
    streak.recovered();
    streak.failed("server call failed: down", null);
    streak.recovered();

    assertThat(logged).containsExactly("WARNING server call failed: down; backing off");
    assertThat(streak.length()).isZero();
  }
}
