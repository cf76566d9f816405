package dev.nightshift.agent.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TailBufferTest {
  private static void write(TailBuffer t, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    t.write(b, 0, b.length);
  }

  @Test
  void keepsEverythingBelowCapacity() {
    TailBuffer t = new TailBuffer(10);
    write(t, "abc");
    write(t, "def");
    assertThat(t.text()).isEqualTo("abcdef");
  }

  @Test
  void keepsTheLastBytesAcrossWrapsAndOversizedWrites() {
    TailBuffer t = new TailBuffer(5);
    write(t, "abcd");
    write(t, "efg");
    assertThat(t.text()).isEqualTo("cdefg");
    write(t, "0123456789");
    assertThat(t.text()).isEqualTo("56789");
    write(t, "xy");
    assertThat(t.text()).isEqualTo("789xy");
    assertThat(t.written()).isEqualTo(19);
  }

  @Test
  void dropsACharacterCutInHalfAtTheStart() {
    TailBuffer t = new TailBuffer(4);
    write(t, "aé€"); // é = 2 bytes, € = 3 bytes: the tail starts inside é
    assertThat(t.text()).isEqualTo("€");
  }
}
