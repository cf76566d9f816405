package dev.nightshift.agent.testing;

import dev.nightshift.protocol.BatchInput;
import dev.nightshift.protocol.Lease;
import java.time.Instant;
import java.util.Map;

/** Test-data builders for leases. */
public final class Leases {
  private Leases() {}

  /** A lease whose items are the given NDJSON lines. */
  public static Lease items(long batchId, String command, long timeoutSeconds, String... lines) {
    StringBuilder sb = new StringBuilder();
    for (String l : lines) {
      sb.append(l).append('\n');
    }
    return new Lease(batchId, 100 + batchId, 1, "token-" + batchId, Instant.parse("2030-01-01T00:00:00Z"),
        null, null, command, timeoutSeconds, new BatchInput(sb.toString(), lines.length, null, null), Map.of());
  }

  public static Lease range(long batchId, String command, long start, long end) {
    return new Lease(batchId, 100 + batchId, 1, "token-" + batchId, Instant.parse("2030-01-01T00:00:00Z"),
        "abc123", "1.2.3", command, 30, new BatchInput(null, (int) (end - start), start, end),
        Map.of("JOB_SETTING", "x"));
  }

  /** A lease naming the commit (and version) to run, with the given NDJSON items. */
  public static Lease atCommit(long batchId, String commit, String version, String command, String... lines) {
    Lease l = items(batchId, command, 30, lines);
    return new Lease(l.batchId(), l.jobId(), l.attempt(), l.leaseToken(), l.expiresAt(), commit, version,
        l.command(), l.timeoutSeconds(), l.input(), l.env());
  }
}
