package dev.nightshift.protocol;

/**
 * The worker's local reference-data database (a replica of the control side's primary) as the agent last probed
 * it. Absent (null) when the agent has no data source configured.
 *
 * @param replicating true when both replication threads run (MariaDB {@code Slave_IO_Running} and
 *     {@code Slave_SQL_Running}, MySQL {@code Replica_IO_Running} and {@code Replica_SQL_Running})
 * @param lagSeconds {@code Seconds_Behind_Master} (MySQL 8.4: {@code Seconds_Behind_Source}), null when the
 *     database does not know it (replication stopped, or the data source is no replica)
 * @param position the GTID position the data reflects ({@code gtid_slave_pos} / {@code gtid_current_pos} on
 *     MariaDB, {@code gtid_executed} on MySQL), null when unknown
 * @param error why the probe failed (cannot connect, no replication configured, timed out), null when it worked
 */
public record DataState(boolean replicating, Long lagSeconds, String position, String error) {

  /** The longest text a position may have; longer ones are cut (and then never satisfy a minimum position). */
  public static final int MAX_POSITION = 2000;

  /** A probe that could not read the database. */
  public static DataState failed(String error) {
    return new DataState(false, null, null, error);
  }
}
