package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.testing.NightshiftTest;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * A null bound as a plain argument costs no extra round trip: without {@code spring.jdbc.getParameterType.ignore}
 * (src/main/resources/spring.properties) Spring asked MariaDB Connector/J for the parameter's type, which the
 * driver answers by sending the statement to the server as a PREPARE (then throwing "not supported"): one more round
 * trip for every null in every statement, reports and leases included. Counted with the server's own
 * {@code Com_stmt_prepare}.
 */
@NightshiftTest
class PrepareRoundTripTest {
  static final int STATEMENTS = 50;

  @Autowired JdbcTemplate jdbc;
  @Autowired JdbcClient client;

  @Test
  void nullArgumentsAreBoundWithoutAskingTheServer() {
    long before = prepares();
    for (int i = 0; i < STATEMENTS; i++) {
      // matches no row; what counts is how the nulls are bound
      jdbc.update("UPDATE batch SET lease_token = ?, lease_commit = ? WHERE id = ?", null, null, -1L);
      client.sql("UPDATE batch SET worker_id = ? WHERE id = ?").params(null, -1L).update();
    }
    long sent = prepares() - before;
    // each statement above used to add 1-2 PREPAREs (so >= 100 here); a background batch write may add a few
    assertThat(sent).as("PREPAREs sent for %s statements with null arguments", 2 * STATEMENTS).isLessThan(10);
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch WHERE id = -1", Integer.class)).isZero();
  }

  private long prepares() {
    return jdbc.queryForObject("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'", (rs, n) -> rs.getLong(2));
  }
}
