package dev.nightshift.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
  @TempDir Path home;
  private final ByteArrayOutputStream warnings = new ByteArrayOutputStream();
  private final PrintStream err = new PrintStream(warnings, true, StandardCharsets.UTF_8);

  private Path writeDefaultFile(String text, String perms) throws IOException {
    Path file = home.resolve(".config/nightshift/cli.properties");
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(perms));
    return file;
  }

  private static Config.Flags noFlags() {
    return new Config.Flags(null, null, null, null);
  }

  @Test
  void flag_beats_env_beats_file_beats_default() throws IOException {
    assertThat(Config.resolve(noFlags(), Map.of(), home, err).server()).isEqualTo("http://127.0.0.1:8080");
    writeDefaultFile("server=http://file:1\ntoken=nst_file\nuser=fileuser\npassword=filepass\n", "rw-------");
    Config fromFile = Config.resolve(noFlags(), Map.of(), home, err);
    assertThat(fromFile.server()).isEqualTo("http://file:1");
    assertThat(fromFile.token()).isEqualTo("nst_file");
    assertThat(fromFile.password()).isEqualTo("filepass");
    Map<String, String> env =
        Map.of("NIGHTSHIFT_SERVER", "http://env:2/", "NIGHTSHIFT_TOKEN", "nst_env", "NIGHTSHIFT_PASSWORD", "envpass");
    Config fromEnv = Config.resolve(noFlags(), env, home, err);
    assertThat(fromEnv.server()).isEqualTo("http://env:2");
    assertThat(fromEnv.token()).isEqualTo("nst_env");
    assertThat(fromEnv.user()).isEqualTo("fileuser");
    assertThat(fromEnv.password()).isEqualTo("envpass");
    Config fromFlags =
        Config.resolve(new Config.Flags("https://flag:3", "nst_flag", "flaguser", null), env, home, err);
    assertThat(fromFlags.server()).isEqualTo("https://flag:3");
    assertThat(fromFlags.token()).isEqualTo("nst_flag");
    assertThat(fromFlags.user()).isEqualTo("flaguser");
    assertThat(warnings.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void config_file_from_env_or_flag_and_a_missing_one_is_an_error() throws IOException {
    Path other = home.resolve("other.properties");
    Files.writeString(other, "server=http://other:4\n");
    assertThat(Config.resolve(noFlags(), Map.of("NIGHTSHIFT_CLI_CONFIG", other.toString()), home, err).server())
        .isEqualTo("http://other:4");
    assertThat(Config.resolve(new Config.Flags(null, null, null, other.toString()), Map.of(), home, err).server())
        .isEqualTo("http://other:4");
    assertThatThrownBy(
            () -> Config.resolve(new Config.Flags(null, null, null, "/nonexistent/x.properties"), Map.of(), home, err))
        .hasMessageContaining("/nonexistent/x.properties does not exist");
  }

  @Test
  void a_secret_in_a_file_others_can_read_is_warned_about() throws IOException {
    Path file = writeDefaultFile("token=nst_secret\n", "rw-r--r--");
    Config.resolve(noFlags(), Map.of(), home, err);
    assertThat(warnings.toString(StandardCharsets.UTF_8))
        .contains("holds a secret and others can read it")
        .contains("chmod 600 " + file);
  }

  @Test
  void a_server_without_a_scheme_is_refused_as_usage() {
    assertThatThrownBy(() -> Config.resolve(new Config.Flags("example.org:8080", null, null, null), Map.of(), home, err))
        .isInstanceOfSatisfying(CliException.class, e -> assertThat(e.exitCode).isEqualTo(CliException.USAGE))
        .hasMessageContaining("must start with http:// or https://");
  }
}
