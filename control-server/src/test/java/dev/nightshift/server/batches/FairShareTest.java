package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The fair-share policy of claims (issue 14: "a 5-item job waited 82 s behind a 1,000-batch job of the same
 * priority"): jobs of equal priority share free slots, a higher priority still takes every slot it can use.
 */
@NightshiftTest
class FairShareTest {
  @LocalServerPort int port;
  @Autowired ClaimService claims;
  @Autowired LeaseService leases;
  @Autowired JdbcTemplate jdbc;

  @BeforeEach
  void clean() {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
  }

  @Test
  void aSmallJobSubmittedBehindALargeOneOfTheSamePriorityGetsHalfTheSlotsAtOnce() {
    long large = Jobs.submit(Http.admin(port), Jobs.range("large", "true", 1000, 1));
    long small = Jobs.submit(Http.admin(port), Jobs.range("small", "true", 5, 1));
    Map<Long, Long> byJob = byJob(claims.claim("w", 8));
    assertThat(byJob).containsEntry(large, 4L).containsEntry(small, 4L);
  }

  @Test
  void aOneSlotWorkerAlternatesBetweenJobsOfEqualPrioritySoTheSmallOneFinishesEarly() {
    long large = Jobs.submit(Http.admin(port), Jobs.range("large", "true", 1000, 1));
    long small = Jobs.submit(Http.admin(port), Jobs.range("small", "true", 5, 1));
    // Each claim's batch is finished before the next claim: leased counts are equal (0) every time, so the
    // least recently served job gets the slot.
    int claimsMade = 0;
    while (!"SUCCEEDED".equals(Jobs.get(Http.admin(port), small).get("state").asString())) {
      List<Lease> got = claims.claim("w", 1);
      assertThat(got).hasSize(1);
      claimsMade++;
      assertThat(leases.complete("w", ClaimContractTest.complete(got.get(0))).status())
          .isEqualTo(ReportStatus.ACCEPTED);
      assertThat(claimsMade).as("claims until the small job is done").isLessThanOrEqualTo(10);
    }
    assertThat(Jobs.get(Http.admin(port), large).get("counts").get("succeeded").asInt()).isEqualTo(claimsMade - 5);
  }

  @Test
  void aHigherPriorityTakesEverySlotItCanUse() {
    long low = Jobs.submit(Http.admin(port), Jobs.range("low", "true", 100, 1));
    var urgent = Jobs.range("urgent", "true", 6, 1);
    urgent.put("priority", 5);
    long high = Jobs.submit(Http.admin(port), urgent);
    Map<Long, Long> byJob = byJob(claims.claim("w", 10));
    assertThat(byJob).containsEntry(high, 6L).containsEntry(low, 4L);
  }

  @Test
  void slotsGoToTheJobWithTheFewestLeasesFirst() {
    long busy = Jobs.submit(Http.admin(port), Jobs.range("busy", "true", 100, 1));
    assertThat(claims.claim("a", 6)).hasSize(6); // all to the only job
    long fresh = Jobs.submit(Http.admin(port), Jobs.range("fresh", "true", 100, 1));
    // busy holds 6 leases, fresh none: the next 8 slots level them (fresh 7, busy 1).
    Map<Long, Long> byJob = byJob(claims.claim("b", 8));
    assertThat(byJob).containsEntry(fresh, 7L).containsEntry(busy, 1L);
  }

  private static Map<Long, Long> byJob(List<Lease> got) {
    return got.stream().collect(Collectors.groupingBy(Lease::jobId, Collectors.counting()));
  }
}
