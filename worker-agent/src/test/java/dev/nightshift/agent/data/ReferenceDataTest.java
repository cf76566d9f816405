package dev.nightshift.agent.data;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.DataState;
import dev.nightshift.protocol.ScriptEnv;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The probe's parsing of replica status rows of MariaDB and MySQL, its failures, its staleness and the script's env. */
class ReferenceDataTest {

  @Test
  void mariadbReplicaRunning() {
    Map<String, String> row = new HashMap<>();
    row.put("Slave_IO_Running", "Yes");
    row.put("Slave_SQL_Running", "Yes");
    row.put("Seconds_Behind_Master", "4");
    row.put("Last_SQL_Error", "");
    assertThat(ReferenceData.parse(row, "0-1-1042")).isEqualTo(new DataState(true, 4L, "0-1-1042", null));
  }

  @Test
  void mysql84ReplicaNamesItsColumnsReplicaAndSource() {
    Map<String, String> row = new HashMap<>();
    row.put("Replica_IO_Running", "Yes");
    row.put("Replica_SQL_Running", "Yes");
    row.put("Seconds_Behind_Source", "7260");
    String executed = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1042,\n4f22fa47-71ca-11e1-9e33-c80aa9429562:1-9";
    DataState d = ReferenceData.parse(row, executed);
    assertThat(d.replicating()).isTrue();
    assertThat(d.lagSeconds()).isEqualTo(7260L);
    assertThat(d.position())
        .isEqualTo("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1042,4f22fa47-71ca-11e1-9e33-c80aa9429562:1-9");
  }

  @Test
  void sqlThreadStoppedMeansNotReplicatingWithTheLastError() {
    Map<String, String> row = new HashMap<>();
    row.put("Slave_IO_Running", "Yes");
    row.put("Slave_SQL_Running", "No");
    row.put("Seconds_Behind_Master", null);
    row.put("Last_SQL_Error", "Duplicate entry '1' for key 'PRIMARY'");
    DataState d = ReferenceData.parse(row, "0-1-99");
    assertThat(d.replicating()).isFalse();
    assertThat(d.lagSeconds()).isNull();
    assertThat(d.position()).isEqualTo("0-1-99");
    assertThat(d.error())
        .isEqualTo("replication stopped (IO thread Yes, SQL thread No): Duplicate entry '1' for key 'PRIMARY'");
  }

  @Test
  void noReplicaStatusMeansNoReplication() {
    DataState d = ReferenceData.parse(Map.of(), "");
    assertThat(d.replicating()).isFalse();
    assertThat(d.position()).isNull();
    assertThat(d.error()).contains("no replication configured");
  }

  @Test
  void anUnreachableDataSourceFailsFastAndAStuckProbeGoesStale() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    MutableClock clock = new MutableClock(Instant.parse("2026-12-01T00:00:00Z"));
    ReferenceData data =
        new ReferenceData(new ReferenceData.Settings("jdbc:mariadb://127.0.0.1:" + port + "/ref", "u", "pw"), clock);
    DataState d = data.probeNow();
    assertThat(d.replicating()).isFalse();
    assertThat(d.error()).startsWith("cannot probe the data source:").doesNotContain("pw");
    assertThat(data.current()).isEqualTo(d);

    clock.advance(ReferenceData.STALE_AFTER.plus(Duration.ofSeconds(1)));
    assertThat(data.current().error()).isEqualTo("the data source has not answered for 31 s");
  }

  @Test
  void aMysqlUrlIsProbedWithTheMariadbDriver() {
    assertThat(ReferenceData.probeUrl("jdbc:mysql://127.0.0.1/ref")).isEqualTo("jdbc:mysql://127.0.0.1/ref?permitMysqlScheme");
    assertThat(ReferenceData.probeUrl("jdbc:mysql://h/ref?sslMode=trust"))
        .isEqualTo("jdbc:mysql://h/ref?sslMode=trust&permitMysqlScheme");
    assertThat(ReferenceData.probeUrl("jdbc:mariadb://h/ref")).isEqualTo("jdbc:mariadb://h/ref");
    assertThat(new org.mariadb.jdbc.Driver().acceptsURL(ReferenceData.probeUrl("jdbc:mysql://h/ref"))).isTrue();
  }

  @Test
  void theScriptGetsTheDataSourceAndThePositionAtStart() {
    ReferenceData data =
        new ReferenceData(
            new ReferenceData.Settings("jdbc:mariadb://127.0.0.1/ref", "reader", "s3cret"),
            new MutableClock(Instant.EPOCH));
    assertThat(data.scriptEnv(new DataState(true, 0L, "0-1-5", null)))
        .containsEntry(ScriptEnv.DATA_SOURCE_URL, "jdbc:mariadb://127.0.0.1/ref")
        .containsEntry(ScriptEnv.DATA_SOURCE_USER, "reader")
        .containsEntry(ScriptEnv.DATA_SOURCE_PASSWORD, "s3cret")
        .containsEntry(ScriptEnv.DATA_POSITION, "0-1-5");
    assertThat(data.settings().toString()).doesNotContain("s3cret");
  }
}
