package dev.nightshift.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
  private static Progress.JobStatus running(long done, long total, double progress, Double perMinute, Long eta) {
    return new Progress.JobStatus(7, "RUNNING", total, done, progress, perMinute, eta, 100, 6, 1, 3, 0, 0);
  }

  @Test
  void bar_fills_by_fraction_and_clamps() {
    assertThat(Progress.bar(0, 10)).isEqualTo("[----------]");
    assertThat(Progress.bar(0.38, 10)).isEqualTo("[###-------]");
    assertThat(Progress.bar(1, 10)).isEqualTo("[##########]");
    assertThat(Progress.bar(1.7, 4)).isEqualTo("[####]");
    assertThat(Progress.bar(Double.NaN, 4)).isEqualTo("[----]");
    assertThat(Progress.percent(0.999)).isEqualTo("99%");
  }

  @Test
  void durations_counts_bytes_and_rates() {
    assertThat(Progress.duration(45)).isEqualTo("45s");
    assertThat(Progress.duration(729)).isEqualTo("12m09s");
    assertThat(Progress.duration(3 * 3600 + 5 * 60 + 59)).isEqualTo("3h05m");
    assertThat(Progress.duration(2 * 86400 + 4 * 3600)).isEqualTo("2d04h");
    assertThat(Progress.duration(-1)).isEqualTo("?");
    assertThat(Progress.count(37800)).isEqualTo("37,800");
    assertThat(Progress.plural(1, "item") + ", " + Progress.plural(1000, "batch")).isEqualTo("1 item, 1,000 batches");
    assertThat(Progress.bytes(512)).isEqualTo("512 B");
    assertThat(Progress.bytes(1536)).isEqualTo("1.5 KB");
    assertThat(Progress.bytes(27L * 1024 * 1024)).isEqualTo("27.0 MB");
    assertThat(Progress.rate(5120)).isEqualTo("85/s");
    assertThat(Progress.rate(512)).isEqualTo("512/min");
    assertThat(Progress.rate(0.5)).isEqualTo("0.5/min");
  }

  @Test
  void watch_line_shows_items_rate_eta_and_remaining_within_the_width() {
    String line = Progress.watchLine(running(37800, 100000, 0.38, 512.0, 729L), 120);
    assertThat(line)
        .startsWith("job 7 RUNNING [")
        .contains("38% 37,800/100,000 items")
        .contains("512/min")
        .contains("ETA 12m09s")
        .endsWith("62,200 remaining");
    for (int width : new int[] {120, 80, 40, 20}) {
      assertThat(Progress.watchLine(running(37800, 100000, 0.38, 512.0, 729L), width).length())
          .isLessThanOrEqualTo(width - 1);
    }
    assertThat(Progress.watchLine(running(37800, 100000, 0.38, 512.0, 729L), 60)).doesNotContain("[");
  }

  @Test
  void remaining_leaves_out_dead_batches_and_is_zero_when_finished() {
    var withDead = new Progress.JobStatus(1, "RUNNING", 1000, 300, 0.5, 10.0, null, 100, 2, 1, 3, 4, 0);
    assertThat(withDead.remaining()).isEqualTo(300); // 3 open batches of 100, not 1000 - 300
    var failed = new Progress.JobStatus(1, "FAILED", 1000, 300, 1, 10.0, null, 100, 0, 0, 3, 7, 0);
    assertThat(failed.remaining()).isZero();
    assertThat(Progress.watchLine(failed, 100)).contains("7 batches dead").doesNotContain("remaining");
  }

  @Test
  void transfer_line_with_and_without_a_total() {
    assertThat(Progress.transferLine("uploading a.csv", 512 * 1024, 1024 * 1024, 256 * 1024, 100))
        .contains("50% 512.0 KB of 1.0 MB")
        .contains("256.0 KB/s")
        .contains("ETA 2s");
    assertThat(Progress.transferLine("uploading stdin", 2048, -1, 0, 100)).isEqualTo("uploading stdin 2.0 KB");
  }

  @Test
  void plain_output_prints_a_line_per_change_without_escapes_and_a_terminal_redraws_in_place() {
    ByteArrayOutputStream plainBytes = new ByteArrayOutputStream();
    Progress plain = new Progress(new PrintStream(plainBytes, true, StandardCharsets.UTF_8), false, 80);
    plain.show("a 1", "k1");
    plain.show("a 1 later", "k1");
    plain.show("a 2", "k2");
    plain.done();
    String text = plainBytes.toString(StandardCharsets.UTF_8);
    assertThat(text).isEqualTo("a 1\na 2\n").doesNotContain("\r").doesNotContain("\033");

    ByteArrayOutputStream ttyBytes = new ByteArrayOutputStream();
    Progress tty = new Progress(new PrintStream(ttyBytes, true, StandardCharsets.UTF_8), true, 80);
    tty.show("a 1", "k1");
    tty.show("a 2", "k2");
    tty.done();
    assertThat(ttyBytes.toString(StandardCharsets.UTF_8)).isEqualTo("\ra 1\033[K\ra 2\033[K\n");
  }
}
