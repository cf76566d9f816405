package dev.nightshift.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.agent.config.SettingsResolver.Key;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsResolverTest {
  @TempDir Path home;

  private SettingsResolver resolver(Map<String, String> env) {
    return new SettingsResolver(env, home.toString(), e -> "host-1");
  }

  private static Map<Key, String> flags(Object... kv) {
    Map<Key, String> m = new EnumMap<>(Key.class);
    for (int i = 0; i < kv.length; i += 2) {
      m.put((Key) kv[i], (String) kv[i + 1]);
    }
    return m;
  }

  @Test
  void defaultsApplyWhenNothingIsGiven() {
    AgentSettings s = resolver(Map.of()).resolve(flags(), null, false);

    assertThat(s.server()).isNull();
    assertThat(s.enrollmentToken()).isNull();
    assertThat(s.dataDir()).isEqualTo(home.resolve(".nightshift/agent"));
    assertThat(s.slots()).isEqualTo(Defaults.SLOTS);
    assertThat(s.name()).isEqualTo("host-1");
    assertThat(s.labels()).isEmpty();
    assertThat(s.idlePolicy()).isNull(); // the command decides: once always, run by session
    assertThat(s.claimWait()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.maxOutputBytes()).isEqualTo(64L * 1024 * 1024);
    assertThat(s.logTailBytes()).isEqualTo(64 * 1024);
    assertThat(s.codeCache()).isEqualTo(4);
  }

  @Test
  void flagsBeatEnvironmentWhichBeatsTheConfigFile() throws Exception {
    Path data = home.resolve("data");
    Files.createDirectories(data);
    Files.writeString(data.resolve("agent.properties"),
        "server=http://from-file\nslots=3\nname=file-name\nlabels=os=linux, gpu=none\nclaim-wait=10s\n"
            + "max-output-bytes=1MiB\nlog-tail-bytes=4k\ncode-cache=8\n");
    Map<String, String> env = Map.of("NIGHTSHIFT_DATA_DIR", data.toString(), "NIGHTSHIFT_SLOTS", "5",
        "NIGHTSHIFT_SERVER", "http://from-env");

    AgentSettings s = resolver(env).resolve(flags(Key.SERVER, "https://from-flag:8443/ns"), null, false);

    assertThat(s.server()).isEqualTo(URI.create("https://from-flag:8443/ns"));
    assertThat(s.slots()).isEqualTo(5);
    assertThat(s.name()).isEqualTo("file-name");
    assertThat(s.labels()).containsExactly(Map.entry("os", "linux"), Map.entry("gpu", "none"));
    assertThat(s.claimWait()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.maxOutputBytes()).isEqualTo(1024 * 1024);
    assertThat(s.logTailBytes()).isEqualTo(4096);
    assertThat(s.codeCache()).isEqualTo(8);
    assertThat(s.dataDir()).isEqualTo(data);
  }

  @Test
  void anExplicitConfigFileIsReadAndMustExist() throws Exception {
    Path file = Files.writeString(home.resolve("nightshift.properties"), "enrollment-token=tok\nslots=2\n");

    AgentSettings s = resolver(Map.of()).resolve(flags(), file, false);
    assertThat(s.enrollmentToken()).isEqualTo("tok");
    assertThat(s.slots()).isEqualTo(2);
    assertThat(s.toString()).doesNotContain("tok,").contains("enrollmentToken=***");

    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(), home.resolve("missing.properties"), false))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("config file").hasMessageContaining("not found");
  }

  @Test
  void theEnrollmentTokenIsReadFromAFileAndNeverFromBothPlaces() throws Exception {
    // tries: a token file; a token file and a token; an empty file; a missing file
    Path file = Files.writeString(home.resolve("enroll.token"), "tok-from-file\n");
    AgentSettings s =
        resolver(Map.of("NIGHTSHIFT_ENROLLMENT_TOKEN_FILE", file.toString())).resolve(flags(), null, false);
    assertThat(s.enrollmentToken()).isEqualTo("tok-from-file");
    assertThat(s.toString()).doesNotContain("tok-from-file");

    assertThatThrownBy(() -> resolver(Map.of("NIGHTSHIFT_ENROLLMENT_TOKEN", "t"))
            .resolve(flags(Key.ENROLLMENT_TOKEN_FILE, file.toString()), null, false))
        .hasMessageContaining("both NIGHTSHIFT_ENROLLMENT_TOKEN and --enrollment-token-file give the enrollment token");
    Path empty = Files.writeString(home.resolve("empty.token"), "\n");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.ENROLLMENT_TOKEN_FILE, empty.toString()), null, false))
        .hasMessageContaining("is empty");
    assertThatThrownBy(() -> resolver(Map.of())
            .resolve(flags(Key.ENROLLMENT_TOKEN_FILE, home.resolve("none").toString()), null, false))
        .hasMessageContaining("expected a readable file holding the enrollment token");
  }

  @Test
  void badValuesNameTheSourceAndWhatIsExpected() throws Exception {
    // tries: slots 0, -1, abc, 1000 as a flag; slots abc in the environment; a server without scheme;
    // a label without '='; a claim wait of 0; an unknown key in the config file
    for (String bad : new String[] {"0", "-1", "abc", "1000"}) {
      assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.SLOTS, bad), null, false))
          .isInstanceOf(SettingsException.class)
          .hasMessage("invalid value '" + bad + "' for --slots: expected a whole number from 1 to 256");
    }
    assertThatThrownBy(() -> resolver(Map.of("NIGHTSHIFT_SLOTS", "abc")).resolve(flags(), null, false))
        .hasMessageStartingWith("invalid value 'abc' for NIGHTSHIFT_SLOTS");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.SERVER, "grid.example.com"), null, false))
        .hasMessageContaining("expected an http:// or https:// URL");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.LABELS, "os=linux,gpu"), null, false))
        .hasMessage("invalid label 'gpu' for --label: expected KEY=VALUE such as os=linux");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.CLAIM_WAIT, "0"), null, false))
        .hasMessageStartingWith("invalid value '0' for --claim-wait");
    for (String bad : new String[] {"0", "65", "x"}) {
      assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.CODE_CACHE, bad), null, false))
          .hasMessage("invalid value '" + bad + "' for --code-cache: expected a whole number from 1 to 64");
    }
    Path file = Files.writeString(home.resolve("bad.properties"), "slot=2\n");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(), file, false))
        .hasMessageContaining("unknown key 'slot'").hasMessageContaining("slots");
  }

  @Test
  void aDataSourceTakesItsPasswordFromAFileAndIsAbsentByDefault() throws Exception {
    assertThat(resolver(Map.of()).resolve(flags(), null, false).dataSource()).isNull();
    Path password = Files.writeString(home.resolve("ref.password"), "s3cret\n");
    AgentSettings s =
        resolver(Map.of("NIGHTSHIFT_DATA_SOURCE_PASSWORD_FILE", password.toString()))
            .resolve(flags(Key.DATA_SOURCE, "jdbc:mariadb://127.0.0.1/ref", Key.DATA_SOURCE_USER, "reader"), null,
                false);
    assertThat(s.dataSource().url()).isEqualTo("jdbc:mariadb://127.0.0.1/ref");
    assertThat(s.dataSource().user()).isEqualTo("reader");
    assertThat(s.dataSource().password()).isEqualTo("s3cret");
    assertThat(s.toString()).doesNotContain("s3cret");
  }

  @Test
  void badDataSourcesSayWhatToFix() {
    // tries: not a JDBC URL; a password inside the URL; a user without a data source; a missing password file
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.DATA_SOURCE, "127.0.0.1/ref"), null, false))
        .hasMessage("invalid value '127.0.0.1/ref' for --data-source: expected a JDBC URL such as"
            + " jdbc:mariadb://127.0.0.1/ref");
    assertThatThrownBy(
            () -> resolver(Map.of())
                .resolve(flags(Key.DATA_SOURCE, "jdbc:mariadb://h/ref?user=a&password=b"), null, false))
        .hasMessageContaining("keep the password out of the URL");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.DATA_SOURCE_USER, "reader"), null, false))
        .hasMessageContaining("it needs a data source too");
    assertThatThrownBy(
            () -> resolver(Map.of())
                .resolve(flags(Key.DATA_SOURCE, "jdbc:mariadb://h/ref", Key.DATA_SOURCE_PASSWORD_FILE,
                    home.resolve("missing").toString()), null, false))
        .hasMessageContaining("expected a readable file holding the data source's password");
  }

  @Test
  void parsesDurationsAndSizes() {
    assertThat(SettingsResolver.parseDuration("30")).isEqualTo(Duration.ofSeconds(30));
    assertThat(SettingsResolver.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(SettingsResolver.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(SettingsResolver.parseDuration("PT45S")).isEqualTo(Duration.ofSeconds(45));
    assertThat(SettingsResolver.parseDuration("soon")).isNull();
    assertThat(SettingsResolver.parseSize("65536")).isEqualTo(65536L);
    assertThat(SettingsResolver.parseSize("64KiB")).isEqualTo(65536L);
    assertThat(SettingsResolver.parseSize("64m")).isEqualTo(64L << 20);
    assertThat(SettingsResolver.parseSize("1GB")).isEqualTo(1L << 30);
    assertThat(SettingsResolver.parseSize("lots")).isNull();
  }

  @Test
  void idleSettingsComeFromFlagsEnvironmentAndFile() throws Exception {
    Path data = home.resolve("data");
    Files.createDirectories(data);
    Files.writeString(data.resolve("agent.properties"),
        "window=Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00\nmax-load=25%\nrun-on-battery=yes\nvacate-after=5m\n");
    AgentSettings s = resolver(Map.of("NIGHTSHIFT_INPUT_IDLE", "20m", "NIGHTSHIFT_IDLE_POLICY", "Desktop"))
        .resolve(flags(Key.DATA_DIR, data.toString(), Key.HOST_IDLE_FILE, "/mnt/host/idle"), null, false);

    assertThat(s.idlePolicy()).isEqualTo("desktop");
    assertThat(s.idle().windows()).extracting(w -> w.text())
        .containsExactly("Mon-Fri 20:00-06:00", "Sat-Sun 00:00-24:00");
    assertThat(s.idle().maxLoad()).isEqualTo(0.25);
    assertThat(s.idle().runOnBattery()).isTrue();
    assertThat(s.idle().vacateAfter()).isEqualTo(Duration.ofMinutes(5));
    assertThat(s.idle().inputIdle()).isEqualTo(Duration.ofMinutes(20));
    assertThat(s.idle().hostIdleFile()).isEqualTo(Path.of("/mnt/host/idle"));

    AgentSettings d = resolver(Map.of()).resolve(flags(), null, false);
    assertThat(d.idle().inputIdle()).isEqualTo(Duration.ofMinutes(15));
    assertThat(d.idle().maxLoad()).isEqualTo(0.3);
    assertThat(d.idle().vacateAfter()).isEqualTo(Duration.ofMinutes(10));
    assertThat(d.idle().windows()).isEmpty();
  }

  @Test
  void badIdleSettingsNameTheirSource() {
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.IDLE_POLICY, "sometimes"), null, false))
        .hasMessageContaining("unknown idle policy 'sometimes'").hasMessageContaining("always, desktop")
        .hasMessageContaining("--idle-policy");
    assertThatThrownBy(() -> resolver(Map.of("NIGHTSHIFT_MAX_LOAD", "3")).resolve(flags(), null, false))
        .hasMessageContaining("invalid value '3' for NIGHTSHIFT_MAX_LOAD");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.VACATE_AFTER, "soon"), null, false))
        .hasMessageContaining("invalid value 'soon' for --vacate-after");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.WINDOW, "weekends"), null, false))
        .hasMessageContaining("invalid window 'weekends'").hasMessageContaining("(from --window)");
  }

  /**
   * Script confinement: flags, environment and file keys; bad inputs tried: a user name with a space, a memory limit
   * of 1 KiB and of "lots", CPUs of 0, -1 and "two". Each names the source to fix.
   */
  @Test
  void scriptConfinementSettingsAreCheckedAndNameTheSourceToFix() {
    AgentSettings s = resolver(Map.of("NIGHTSHIFT_SCRIPT_MEMORY", "512MiB"))
        .resolve(flags(Key.SCRIPT_USER, "nightshift-script", Key.SCRIPT_CPUS, "1.5"), null, false);
    assertThat(s.confinement())
        .isEqualTo(new dev.nightshift.agent.runner.Confinement.Settings("nightshift-script", 512L << 20, 1.5));
    assertThat(resolver(Map.of()).resolve(flags(), null, false).confinement().any()).isFalse();

    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.SCRIPT_USER, "bad user"), null, false))
        .hasMessageContaining("--script-user").hasMessageContaining("name of an OS user");
    assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.SCRIPT_MEMORY, "1KiB"), null, false))
        .hasMessageContaining("--script-memory").hasMessageContaining("at least 4MiB");
    assertThatThrownBy(() -> resolver(Map.of("NIGHTSHIFT_SCRIPT_MEMORY", "lots")).resolve(flags(), null, false))
        .hasMessageContaining("NIGHTSHIFT_SCRIPT_MEMORY");
    for (String bad : new String[] {"0", "-1", "two"}) {
      assertThatThrownBy(() -> resolver(Map.of()).resolve(flags(Key.SCRIPT_CPUS, bad), null, false))
          .hasMessageContaining("--script-cpus").hasMessageContaining("number of CPUs from 0.01");
    }
  }
}
