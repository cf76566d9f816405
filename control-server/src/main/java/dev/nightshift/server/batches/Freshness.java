package dev.nightshift.server.batches;

import dev.nightshift.protocol.DataState;
import dev.nightshift.protocol.GtidPositions;

/**
 * A job's data-freshness rule, matched against a worker's reference data the way labels are matched against its
 * labels: only workers that meet it are handed the job's batches (docs/reference-data.md).
 *
 * @param maxLagSeconds the most the worker's replica may lag behind the primary; it must also be replicating.
 *     Null: any lag
 * @param minPosition the GTID position the replica must have applied at least; null: any position
 */
public record Freshness(Integer maxLagSeconds, String minPosition) {
  public static final Freshness ANY = new Freshness(null, null);

  /** True when the job asks nothing of the worker's data. */
  public boolean any() {
    return maxLagSeconds == null && minPosition == null;
  }

  /** Whether a worker with this reference data (null: none configured) may run the job's batches. */
  public boolean metBy(DataState data) {
    return why(data) == null;
  }

  /**
   * Why a worker with this reference data may not run the job's batches, in an operator's words ("no reference
   * data", "replication stopped", "replica 2 h behind", "replica at 0-1-10, needs 0-1-12"); null when it may.
   */
  public String why(DataState data) {
    if (any()) {
      return null;
    }
    if (data == null) {
      return "no reference data";
    }
    if (maxLagSeconds != null) {
      if (!data.replicating()) {
        return "replication stopped";
      }
      if (data.lagSeconds() == null) {
        return "replica lag unknown";
      }
      if (data.lagSeconds() > maxLagSeconds) {
        return "replica " + human(data.lagSeconds()) + " behind (at most " + human(maxLagSeconds) + " allowed)";
      }
    }
    if (minPosition != null && !GtidPositions.covers(data.position(), minPosition)) {
      return data.position() == null
          ? "replica position unknown, needs " + minPosition
          : "replica at " + data.position() + ", needs " + minPosition;
    }
    return null;
  }

  /** 45 s, 12 min, 2 h, 3 d. */
  public static String human(long seconds) {
    if (seconds < 120) {
      return seconds + " s";
    }
    if (seconds < 2 * 3600) {
      return seconds / 60 + " min";
    }
    if (seconds < 2 * 86400) {
      return seconds / 3600 + " h";
    }
    return seconds / 86400 + " d";
  }
}
