package dev.nightshift.agent.idle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.agent.config.IdleSettings;
import dev.nightshift.agent.config.SettingsException;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.WorkerState;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The idle policies as a table: a settable clock in a real zone, fake probes, a real pause file. */
class ProbePolicyTest {
  private static final ZoneId ZONE = ZoneId.of("Europe/Berlin");
  @TempDir Path dir;
  // Sunday 22 Nov 2026, 12:00 in Berlin (11:00 UTC)
  private final MutableClock clock = new MutableClock(at("2026-11-22T12:00"), ZONE);
  private Sample<Duration> input = Sample.known(Duration.ofMinutes(30), "fake");
  private Sample<Double> load = Sample.known(0.05, "fake");
  private Sample<Boolean> battery = Sample.known(false, "fake");
  private IdleSettings settings = IdleSettings.defaults().withPolicy("desktop");

  private static java.time.Instant at(String localBerlin) {
    return LocalDateTime.parse(localBerlin).atZone(ZONE).toInstant();
  }

  private OwnerPause pause() {
    return new OwnerPause(dir.resolve("owner-pause"));
  }

  private IdleVerdict desktop() {
    return new ProbePolicy(true, settings, clock, pause(), () -> input, () -> load, () -> battery).evaluate();
  }

  private IdleVerdict always() {
    return new ProbePolicy(false, settings, clock, pause(), null, null, null).evaluate();
  }

  private void windows(String... w) {
    settings = settings.withWindows(java.util.Arrays.stream(w).map(TimeWindow::parse).toList());
  }

  @ParameterizedTest(name = "{0} {1} inside \"{2}\": {3}")
  @CsvSource({
    // local date-time,      weekday, window,               inside
    "2026-11-23T20:00, Mon, Mon-Fri 20:00-06:00, true",
    "2026-11-23T19:59, Mon, Mon-Fri 20:00-06:00, false",
    "2026-11-24T05:59, Tue, Mon-Fri 20:00-06:00, true",  // Monday's window, after midnight
    "2026-11-24T06:00, Tue, Mon-Fri 20:00-06:00, false",
    "2026-11-28T05:00, Sat, Mon-Fri 20:00-06:00, true",  // Friday night runs into Saturday morning
    "2026-11-29T05:00, Sun, Mon-Fri 20:00-06:00, false", // no window opened on Saturday
    "2026-11-23T05:00, Mon, Mon-Fri 20:00-06:00, false", // Sunday opened none
    "2026-11-22T23:59, Sun, Sat-Sun 00:00-24:00, true",
    "2026-11-23T00:00, Mon, Sat-Sun 00:00-24:00, false",
    "2026-11-27T22:00, Fri, Fri-Mon 22:00-23:00, true",  // a day range over the weekend
    "2026-11-25T22:00, Wed, Fri-Mon 22:00-23:00, false",
    "2026-11-25T12:30, Wed, 'Mon,Wed 12:00-13:00', true",
    "2026-11-25T13:00, Wed, daily 12:00-13:00, false",
  })
  void windowsSpanMidnightAndWeekdays(String local, String weekday, String window, boolean inside) {
    LocalDateTime t = LocalDateTime.parse(local);
    assertThat(t.getDayOfWeek().name()).startsWith(weekday.toUpperCase());
    assertThat(TimeWindow.parse(window).contains(t)).isEqualTo(inside);
  }

  @Test
  void badWindowsAreRefusedWithAnExample() {
    for (String bad : List.of("Mon-Fri", "Mo-Fr 20:00-06:00", "Mon 20:00-20:00", "Mon 24:00-06:00", "Mon 10:61-11:00",
        "Mon-Tue-Wed 10:00-11:00")) {
      assertThatThrownBy(() -> TimeWindow.parse(bad)).isInstanceOf(SettingsException.class)
          .hasMessageContaining("invalid window").hasMessageContaining("Mon-Fri 20:00-06:00");
    }
  }

  @Test
  void outsideTheWindowsSaysWhenTheNextOneOpens() {
    windows("Mon-Fri 20:00-06:00", "Sat 08:00-10:00");
    IdleVerdict v = always(); // Sunday noon

    assertThat(v.run()).isFalse();
    assertThat(v.state()).isEqualTo(WorkerState.OUTSIDE_WINDOW);
    assertThat(v.reason()).isEqualTo(
        "outside the windows Mon-Fri 20:00-06:00, Sat 08:00-10:00; next window opens Mon 20:00");

    clock.set(at("2026-11-23T20:00"));
    assertThat(always().run()).isTrue();
    assertThat(always().reason()).contains("inside Mon-Fri 20:00-06:00");
    assertThat(desktop().run()).isTrue();
  }

  @Test
  void desktopNeedsInputIdleLongEnough() {
    input = Sample.known(Duration.ofMinutes(2), "fake");
    IdleVerdict v = desktop();
    assertThat(v.state()).isEqualTo(WorkerState.OWNER_ACTIVE);
    assertThat(v.reason()).isEqualTo("user input 2 min ago (needs 15 min)");

    input = Sample.known(Duration.ofMinutes(15), "fake");
    assertThat(desktop().run()).isTrue();
    assertThat(desktop().reason()).contains("no user input for 15 min");
  }

  @Test
  void loadFromOtherProgramsAboveTheLimitMeansBusy() {
    load = Sample.known(0.45, "fake");
    IdleVerdict v = desktop();
    assertThat(v.state()).isEqualTo(WorkerState.MACHINE_BUSY);
    assertThat(v.reason()).isEqualTo("other programs use 45% of the CPU (limit 30%)");

    load = Sample.known(0.30, "fake");
    assertThat(desktop().run()).isTrue();
  }

  @Test
  void batteryStopsWorkUnlessAllowed() {
    battery = Sample.known(true, "fake");
    assertThat(desktop().state()).isEqualTo(WorkerState.ON_BATTERY);
    assertThat(desktop().reason()).contains("on battery power");

    settings = new IdleSettings("desktop", List.of(), Duration.ofMinutes(15), 0.3, true, Duration.ofMinutes(10), null);
    assertThat(desktop().run()).isTrue();
  }

  @Test
  void unknownReadingsNeverBlock() {
    input = Sample.unknown("no session");
    load = Sample.unknown("first sample");
    battery = Sample.unknown("no OSHI");
    IdleVerdict v = desktop();
    assertThat(v.run()).isTrue();
    assertThat(v.reason()).contains("user input unknown");
    assertThat(v.readings()).containsEntry("user input", "unknown (no session); relying on the windows and the load")
        .containsEntry("load", "unknown (first sample); not counted")
        .containsEntry("power", "unknown (no OSHI)");

    // unknown input leaves the decision to the windows and the load
    windows("Mon-Fri 20:00-06:00");
    assertThat(desktop().state()).isEqualTo(WorkerState.OUTSIDE_WINDOW);
    settings = settings.withWindows(List.of());
    load = Sample.known(0.9, "fake");
    assertThat(desktop().state()).isEqualTo(WorkerState.MACHINE_BUSY);
  }

  @Test
  void aProbeThatThrowsReadsUnknown() {
    IdleVerdict v = new ProbePolicy(true, settings, clock, pause(),
        () -> { throw new IllegalStateException("boom"); }, () -> load, () -> battery).evaluate();
    assertThat(v.run()).isTrue();
    assertThat(v.readings().get("user input")).contains("probe failed").contains("boom");
  }

  @Test
  void ownerPauseWinsAndExpires() throws Exception {
    input = Sample.known(Duration.ofSeconds(10), "fake"); // owner also active: the pause is named first
    pause().pause(clock.instant(), clock.instant().plus(Duration.ofHours(2)));

    IdleVerdict v = desktop();
    assertThat(v.state()).isEqualTo(WorkerState.PAUSED_BY_OWNER);
    assertThat(v.reason()).isEqualTo("paused by the owner until Sun 14:00; 'nightshift-agent resume' ends it");
    assertThat(always().state()).isEqualTo(WorkerState.PAUSED_BY_OWNER);

    clock.advance(Duration.ofHours(2));
    assertThat(always().run()).isTrue();
    assertThat(always().readings().get("owner pause")).startsWith("expired at");

    pause().pause(clock.instant(), null);
    assertThat(always().reason()).startsWith("paused by the owner until resumed");
    assertThat(pause().resume()).isTrue();
    assertThat(always().run()).isTrue();
    assertThat(pause().resume()).isFalse();
  }

  @Test
  void aGarbledPauseFileCountsAsPausedUntilResumed() throws Exception {
    java.nio.file.Files.writeString(dir.resolve("owner-pause"), "until=next tuesday\n");
    assertThat(always().state()).isEqualTo(WorkerState.PAUSED_BY_OWNER);
    assertThat(always().reason()).contains("cannot parse");
  }

  @Test
  void checksAreOrderedPauseWindowBatteryInputLoad() throws Exception {
    input = Sample.known(Duration.ZERO, "fake");
    load = Sample.known(1.0, "fake");
    battery = Sample.known(true, "fake");
    windows("Mon 01:00-02:00");
    pause().pause(clock.instant(), null);
    assertThat(desktop().state()).isEqualTo(WorkerState.PAUSED_BY_OWNER);
    pause().resume();
    assertThat(desktop().state()).isEqualTo(WorkerState.OUTSIDE_WINDOW);
    settings = settings.withWindows(List.of());
    assertThat(desktop().state()).isEqualTo(WorkerState.ON_BATTERY);
    battery = Sample.known(false, "fake");
    assertThat(desktop().state()).isEqualTo(WorkerState.OWNER_ACTIVE);
    input = Sample.known(Duration.ofHours(1), "fake");
    assertThat(desktop().state()).isEqualTo(WorkerState.MACHINE_BUSY);
  }
}
