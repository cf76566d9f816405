package dev.nightshift.server.testing;

import org.springframework.jdbc.core.JdbcTemplate;

/** Empties the queue tables between tests that need a quiet database (users stay). */
public final class Db {
  private Db() {}

  public static void reset(JdbcTemplate jdbc) {
    for (String table :
        new String[] {"batch_result", "attempt", "batch_input", "batch", "throughput", "job", "worker"}) {
      jdbc.execute("DELETE FROM " + table);
    }
  }
}
