package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The statements the batch engine runs in every group, and the sweeps beside it, read only the rows they need,
 * however many batches the grid leases: the database's own plan (EXPLAIN), on a table with a few thousand leased
 * batches.
 */
@NightshiftTest
class EngineQueryPlanTest {
  static final int BATCHES = 3_000;

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;

  @BeforeEach
  @AfterEach
  void clean() {
    Db.reset(jdbc);
  }

  @Test
  void theGroupsCheckOfItsOwnWritesAndTheSweepsReadOnlyTheirOwnRows() {
    CodeFixture.ensureRelease(port);
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("plan", "true", BATCHES, 1));
    // Every batch leased, as on a grid of a few hundred busy desktops (rows only: the test reads plans, not counters).
    jdbc.update(
        "UPDATE batch SET state = ?, worker_id = 'w', lease_token = RPAD(id, 43, 't'), leased_at = NOW(6),"
            + " lease_expires_at = NOW(6) WHERE job_id = ?",
        BatchState.LEASED.name(), jobId);
    List<Long> ids = jdbc.queryForList("SELECT id FROM batch WHERE job_id = ? ORDER BY id LIMIT 3", Long.class, jobId);
    List<Object> args = new ArrayList<>(ids);
    args.add(BatchState.LEASED.name());
    ids.forEach(id -> args.add(jdbc.queryForObject("SELECT lease_token FROM batch WHERE id = ?", String.class, id)));
    args.addAll(List.of("a".repeat(43), "b".repeat(43)));

    List<Map<String, Object>> plan = jdbc.queryForList("EXPLAIN " + BatchEngine.writtenCheckSql(3, 2), args.toArray());

    assertThat(plan).filteredOn(r -> "batch".equals(r.get("table"))).singleElement().satisfies(r -> {
      assertThat(r.get("key")).as("batch rows by primary key: %s", r).isEqualTo("PRIMARY");
      assertThat(Long.parseLong(String.valueOf(r.get("rows")))).as("rows read: %s", r).isLessThanOrEqualTo(3);
    });
    assertThat(plan).filteredOn(r -> "attempt".equals(r.get("table"))).singleElement().satisfies(r ->
        assertThat(r.get("key")).as("attempt rows by lease token: %s", r).isEqualTo("uk_attempt_lease_token"));
    // and it counts what it should: the three leases, no attempt rows for the two unknown tokens
    assertThat(jdbc.queryForList(BatchEngine.writtenCheckSql(3, 2), args.toArray()).get(0).values())
        .extracting(v -> ((Number) v).intValue())
        .containsExactly(3, 0);

    // A cancel or dead-batch sweep locks a chunk in id order straight from the index, not every leased row sorted.
    List<Map<String, Object>> sweep =
        jdbc.queryForList("EXPLAIN " + BatchStore.LOCK_OF_JOB, jobId, BatchState.LEASED.name(), 100);
    assertThat(sweep).singleElement().satisfies(r -> {
      assertThat(r.get("key")).as("%s", r).isEqualTo("ix_batch_claim");
      assertThat(String.valueOf(r.get("Extra"))).as("%s", r).doesNotContain("filesort");
    });
  }

  @Test
  void aJobsBatchesOfOneStateArePagedFromTheirOwnIndexInSeqOrder() {
    CodeFixture.ensureRelease(port);
    Http admin = Http.admin(port);
    long jobId = Jobs.submit(admin, Jobs.range("pages", "true", BATCHES, 1));
    jdbc.update("UPDATE batch SET state = ? WHERE job_id = ? AND seq % 3 = 0", BatchState.DEAD.name(), jobId);
    List<Integer> dead = jdbc.queryForList(
        "SELECT seq FROM batch WHERE job_id = ? AND state = ? ORDER BY seq", Integer.class, jobId,
        BatchState.DEAD.name());
    assertThat(dead).hasSize(BATCHES / 3);

    List<Integer> paged = new ArrayList<>();
    String after = "";
    for (int page = 0; page < 100; page++) {
      var body = admin.get("/api/v1/jobs/" + jobId + "/batches?state=DEAD&limit=250" + after).json();
      body.get("items").forEach(b -> {
        assertThat(b.get("state").asString()).isEqualTo("DEAD");
        paged.add(b.get("seq").asInt());
      });
      if (body.get("nextAfter") == null || body.get("nextAfter").isNull()) {
        break;
      }
      after = "&after=" + body.get("nextAfter").asInt();
    }
    assertThat(paged).as("every DEAD batch once, in seq order").isEqualTo(dead);
    // a cursor on a batch of another state, and one past the end
    int notDead = dead.get(10) + 1;
    assertThat(admin.get("/api/v1/jobs/" + jobId + "/batches?state=DEAD&limit=2&after=" + notDead).json()
            .get("items").findValuesAsString("seq"))
        .containsExactly(String.valueOf(dead.get(11)), String.valueOf(dead.get(12)));
    assertThat(admin.get("/api/v1/jobs/" + jobId + "/batches?state=DEAD&after=" + (BATCHES + 5)).json()
            .get("items")).isEmpty();

    List<Map<String, Object>> plan =
        jdbc.queryForList("EXPLAIN " + BatchQueries.BY_STATE, jobId, BatchState.DEAD.name(), 0, 51);
    assertThat(plan).singleElement().satisfies(r -> {
      assertThat(r.get("key")).as("%s", r).isEqualTo("ix_batch_claim");
      assertThat(String.valueOf(r.get("Extra"))).as("%s", r).doesNotContain("filesort");
    });
  }
}
