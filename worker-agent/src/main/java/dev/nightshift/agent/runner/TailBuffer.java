package dev.nightshift.agent.runner;

import java.nio.charset.StandardCharsets;

/** Keeps the last {@code capacity} bytes written to it: the tail of a log of any length in bounded memory. */
final class TailBuffer {
  private final byte[] ring;
  private long written;

  TailBuffer(int capacity) {
    this.ring = new byte[Math.max(1, capacity)];
  }

  synchronized void write(byte[] bytes, int off, int len) {
    if (len > ring.length) { // only the last ring.length bytes can survive
      off += len - ring.length;
      written += len - ring.length;
      len = ring.length;
    }
    int pos = (int) (written % ring.length);
    int first = Math.min(len, ring.length - pos);
    System.arraycopy(bytes, off, ring, pos, first);
    System.arraycopy(bytes, off + first, ring, 0, len - first);
    written += len;
  }

  /** Total bytes ever written, kept or not. */
  synchronized long written() {
    return written;
  }

  synchronized byte[] bytes() {
    if (written <= ring.length) {
      byte[] out = new byte[(int) written];
      System.arraycopy(ring, 0, out, 0, out.length);
      return out;
    }
    int pos = (int) (written % ring.length);
    byte[] out = new byte[ring.length];
    System.arraycopy(ring, pos, out, 0, ring.length - pos);
    System.arraycopy(ring, 0, out, ring.length - pos, pos);
    return out;
  }

  /** The tail as UTF-8 text; a character cut at the start of a truncated tail is dropped. */
  String text() {
    byte[] b = bytes();
    int start = 0;
    if (written() > b.length) {
      while (start < b.length && start < 4 && (b[start] & 0xC0) == 0x80) {
        start++; // skip UTF-8 continuation bytes of a character cut in half
      }
    }
    return new String(b, start, b.length - start, StandardCharsets.UTF_8);
  }
}
