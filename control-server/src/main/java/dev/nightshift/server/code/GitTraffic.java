package dev.nightshift.server.code;

import java.util.concurrent.atomic.AtomicLong;
import org.springframework.stereotype.Component;

/** Counts what the Git endpoint serves: the figures behind "a one-line change costs a few KB". */
@Component
public class GitTraffic {
  private final AtomicLong fetches = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();

  void served(long packBytes) {
    fetches.incrementAndGet();
    bytes.addAndGet(packBytes);
  }

  /** Fetches and clones served since start. */
  public long fetches() {
    return fetches.get();
  }

  /** Pack bytes sent to fetches and clones since start. */
  public long bytesServed() {
    return bytes.get();
  }
}
