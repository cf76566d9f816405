package dev.nightshift.agent.idle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.agent.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The probes' parsing and the host signal on fakes, and the real OSHI probes on Linux where they read here. */
class ProbesTest {
  @TempDir Path dir;
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));

  @Test
  void logindSessionsAreReadFromIdleHints() {
    Instant now = clock.instant();
    long since = now.minus(Duration.ofMinutes(20)).toEpochMilli() * 1000;
    assertThat(InputIdleProbes.logindSession("IdleHint=yes\nIdleSinceHint=" + since + "\nRemote=no\nClass=user\n", now))
        .contains(Duration.ofMinutes(20));
    assertThat(InputIdleProbes.logindSession("IdleHint=no\nIdleSinceHint=" + since + "\nRemote=no\nClass=user\n", now))
        .contains(Duration.ZERO);
    // never tracked (IdleSinceHint=0), remote or greeter sessions tell nothing
    assertThat(InputIdleProbes.logindSession("IdleHint=no\nIdleSinceHint=0\nRemote=no\nClass=user\n", now)).isEmpty();
    assertThat(InputIdleProbes.logindSession("IdleHint=no\nIdleSinceHint=" + since + "\nRemote=yes\nClass=user\n", now))
        .isEmpty();
    assertThat(InputIdleProbes.logindSession("IdleHint=yes\nIdleSinceHint=" + since + "\nRemote=no\nClass=greeter\n", now))
        .isEmpty();
  }

  @Test
  void macHidIdleTimeIsParsed() {
    String ioreg = "  | |   \"HIDIdleTime\" = 125000000000\n  | |   \"HIDPointerAcceleration\" = 45056\n";
    assertThat(InputIdleProbes.hidIdle(ioreg)).contains(Duration.ofSeconds(125));
    assertThat(InputIdleProbes.hidIdle("nothing here")).isEmpty();
  }

  @Test
  void hostSignalFileGivesTheHostUsersIdleTimeUntilItGoesStale() throws Exception {
    Path file = dir.resolve("host-idle");
    Probes.InputIdle host = InputIdleProbes.hostFile(file, clock, Duration.ofMinutes(2));
    assertThat(host.inputIdle().isKnown()).isFalse();
    assertThat(host.inputIdle().text()).contains("does not exist");

    Files.writeString(file, "930\n");
    Files.setLastModifiedTime(file, FileTime.from(clock.instant().minusSeconds(30)));
    assertThat(host.inputIdle().value()).isEqualTo(Duration.ofSeconds(930));

    clock.advance(Duration.ofMinutes(2));
    assertThat(host.inputIdle().isKnown()).isFalse();
    assertThat(host.inputIdle().text()).contains("stale");

    Files.writeString(file, "soon");
    Files.setLastModifiedTime(file, FileTime.from(clock.instant()));
    assertThat(host.inputIdle().text()).contains("unreadable");
  }

  @Test
  void theShortestKnownIdleTimeWins() {
    Probes.InputIdle both = InputIdleProbes.shortest(List.of(
        () -> Sample.unknown("no session"),
        () -> Sample.known(Duration.ofMinutes(40), "host"),
        () -> Sample.known(Duration.ofMinutes(3), "x11")));
    assertThat(both.inputIdle().value()).isEqualTo(Duration.ofMinutes(3));
    assertThat(InputIdleProbes.shortest(List.of(() -> Sample.unknown("a"))).inputIdle().isKnown()).isFalse();
  }

  @Test
  void defaultPolicyForRunFollowsTheSession() {
    assertThat(IdlePolicies.defaultForRun("Windows 11", Map.of())).isEqualTo("desktop");
    assertThat(IdlePolicies.defaultForRun("Mac OS X", Map.of())).isEqualTo("desktop");
    assertThat(IdlePolicies.defaultForRun("Linux", Map.of("DISPLAY", ":0"))).isEqualTo("desktop");
    assertThat(IdlePolicies.defaultForRun("Linux", Map.of("XDG_SESSION_TYPE", "wayland"))).isEqualTo("desktop");
    assertThat(IdlePolicies.defaultForRun("Linux", Map.of())).isEqualTo("always");
  }

  @Test
  @EnabledOnOs(OS.LINUX)
  void realLoadProbeReadsOtherProgramsCpu() {
    OshiProbes oshi = OshiProbes.create();
    assumeTrue(oshi != null, "OSHI does not work on this system");
    Probes.Load load = OshiProbes.load(oshi);
    // the first reading after the 250 ms minimum interval; awaited, not slept
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
        .until(() -> load.otherLoad().isKnown());
    Sample<Double> s = load.otherLoad();
    assertThat(s.value()).isBetween(0.0, 1.0);
    assertThat(s.text()).contains("logical CPUs");
  }

  @Test
  @EnabledOnOs(OS.LINUX)
  void realPowerProbeReadsThePowerSource() {
    OshiProbes oshi = OshiProbes.create();
    assumeTrue(oshi != null, "OSHI does not work on this system");
    Sample<Boolean> s = OshiProbes.power(oshi).onBattery();
    assumeTrue(s.isKnown(), "no power source readable here: " + s.text());
    assertThat(s.text()).containsAnyOf("mains power", "on battery");
  }

  @Test
  @EnabledOnOs(OS.LINUX)
  void realInputProbeAnswersWithoutThrowing() {
    Sample<Duration> s = InputIdleProbes.forPlatform("Linux", System.getenv(), null, clock).inputIdle();
    assumeTrue(s.isKnown(), "no user-input signal here (no logind session, no X11): " + s.text());
    assertThat(s.value().isNegative()).isFalse();
  }
}
