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
    restoreStandingEnrollmentToken(jdbc);
  }

  /**
   * NIGHTSHIFT_ENROLLMENT_TOKEN is a revocable row: tests that revoke tokens (on purpose, or an admin's fuzzed
   * DELETE /api/v1/enrollment-tokens/{id}) must not leave the next test without it.
   */
  public static void restoreStandingEnrollmentToken(JdbcTemplate jdbc) {
    jdbc.update("UPDATE enrollment_token SET revoked_at = NULL WHERE description = 'NIGHTSHIFT_ENROLLMENT_TOKEN'");
  }
}
