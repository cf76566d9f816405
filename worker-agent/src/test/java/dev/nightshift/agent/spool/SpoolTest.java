package dev.nightshift.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.LeaseRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
  @TempDir Path dir;

  @Test
  void writesReadsAndListsReports() throws Exception {
    Spool spool = new Spool(dir);
    Instant t = Instant.parse("2026-11-22T10:00:00Z");
    SpooledReport ok = SpooledReport.of(1, new CompleteRequest(12, "tok", "c", "v", 0, t, t, "out\n", "log"));
    SpooledReport bad = SpooledReport.of(3, new FailRequest(9, "tok9", null, null, AttemptOutcome.TIMED_OUT, null, t,
        t, "timed out after 60 s: process tree killed", ""));
    Files.writeString(dir.resolve("leftover.json.123.tmp"), "partial");

    Path okFile = spool.write(ok);
    spool.write(bad);

    assertThat(okFile.getFileName().toString()).isEqualTo("12-1.json");
    assertThat(spool.list()).extracting(p -> p.getFileName().toString()).containsExactly("12-1.json", "9-3.json");
    assertThat(dir.resolve("leftover.json.123.tmp")).doesNotExist();
    assertThat(spool.read(okFile)).isEqualTo(ok);
    assertThat(spool.read(dir.resolve("9-3.json")).ref()).isEqualTo(new LeaseRef(9, "tok9"));

    spool.delete(okFile);
    assertThat(spool.list()).hasSize(1);
  }

  @Test
  void corruptFilesAreReportedAndCanBeQuarantined() throws Exception {
    Spool spool = new Spool(dir);
    Path file = Files.writeString(dir.resolve("1-1.json"), "{\"attempt\":1}");
    assertThatThrownBy(() -> spool.read(file)).hasMessageContaining("corrupt spool file");
    spool.quarantine(file);
    assertThat(spool.list()).isEmpty();
    assertThat(dir.resolve("1-1.json.bad")).exists();
  }
}
