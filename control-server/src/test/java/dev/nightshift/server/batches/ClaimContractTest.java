package dev.nightshift.server.batches;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.server.NightshiftServer;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.MutableClock;
import dev.nightshift.server.testing.NightshiftTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The claim contract against a real MySQL-family server: competing claimers (threads in two server instances on
 * one database) never hold one batch at once, lose none, and get each result accepted exactly once; leases expire
 * and are reaped on a settable clock, and a stale token changes nothing.
 */
@NightshiftTest
class ClaimContractTest {
  @LocalServerPort int port;
  @Autowired ClaimService claims;
  @Autowired LeaseService leases;
  @Autowired JdbcTemplate jdbc;
  @Autowired MutableClock clock;
  @Autowired Environment environment;
  @Autowired dev.nightshift.server.system.Transactions transactions;

  static ConfigurableApplicationContext second;

  @BeforeEach
  void quiet() {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
  }

  @AfterAll
  static void closeSecond() {
    if (second != null) {
      second.close();
      second = null;
    }
  }

  /** A second server instance on the same database (its own port and pools; no background steps). */
  private ConfigurableApplicationContext secondInstance() {
    if (second == null) {
      second =
          new SpringApplicationBuilder(NightshiftServer.class, dev.nightshift.server.testing.TestConfig.class)
              .web(WebApplicationType.SERVLET)
              .properties(
                  Map.of(
                      "server.port", "0",
                      "nightshift.data-dir", environment.getProperty("nightshift.data-dir"),
                      "spring.datasource.url", environment.getProperty("spring.datasource.url"),
                      "spring.datasource.username", environment.getProperty("spring.datasource.username"),
                      "spring.datasource.password", environment.getProperty("spring.datasource.password", ""),
                      "nightshift.background.enabled", "false",
                      "nightshift.admin-password", Http.ADMIN_PASSWORD,
                      "spring.main.banner-mode", "off"))
              .run();
    }
    return second;
  }

  @Test
  void competingClaimersInTwoInstancesNeverShareABatchLoseNoneAndAcceptEachResultOnce() throws Exception {
    int batches = 10_000;
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("contract", "true", batches, 1));
    ConfigurableApplicationContext other = secondInstance();
    dev.nightshift.server.system.Transactions otherTransactions =
        other.getBean(dev.nightshift.server.system.Transactions.class);
    long retriesBefore = transactions.lockRetries() + otherTransactions.lockRetries();
    List<ClaimService> claimers = List.of(claims, other.getBean(ClaimService.class));
    List<LeaseService> reporters = List.of(leases, other.getBean(LeaseService.class));

    Map<Long, String> holder = new ConcurrentHashMap<>();
    AtomicInteger accepted = new AtomicInteger();
    AtomicInteger duplicates = new AtomicInteger();
    AtomicInteger refusedStale = new AtomicInteger();
    AtomicInteger[] perInstance = {new AtomicInteger(), new AtomicInteger()};
    List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<?>> running = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int instance = t % 2;
      String worker = "worker-" + t;
      running.add(
          pool.submit(
              () -> {
                ClaimService claimer = claimers.get(instance);
                LeaseService reporter = reporters.get(instance);
                while (true) {
                  List<Lease> got = claimer.claim(worker, 1 + ThreadLocalRandom.current().nextInt(16));
                  if (got.isEmpty()) {
                    return null;
                  }
                  perInstance[instance].addAndGet(got.size());
                  for (Lease lease : got) {
                    String previous = holder.putIfAbsent(lease.batchId(), worker);
                    if (previous != null) {
                      violations.add("batch " + lease.batchId() + " leased to " + worker + " and " + previous);
                    }
                    CompleteRequest done = complete(lease);
                    if (reporter.complete(worker, done).status() == ReportStatus.ACCEPTED) {
                      accepted.incrementAndGet();
                    }
                    if (ThreadLocalRandom.current().nextInt(10) == 0) {
                      // An exact repeat (a retry after a lost answer) is acknowledged and changes nothing.
                      if (reporter.complete(worker, done).status() == ReportStatus.DUPLICATE) {
                        duplicates.incrementAndGet();
                      }
                      // A forged token is refused.
                      try {
                        reporter.complete(
                            worker,
                            new CompleteRequest(
                                lease.batchId(), "x".repeat(43), null, null, 0, null, null, "forged", ""));
                        violations.add("forged token accepted for batch " + lease.batchId());
                      } catch (ProblemException e) {
                        refusedStale.incrementAndGet();
                      }
                    }
                  }
                }
              }));
    }
    for (Future<?> f : running) {
      f.get();
    }
    pool.shutdown();

    // Every transaction takes its locks in one order (batch rows, then job rows in id order): no deadlock to retry.
    assertThat(transactions.lockRetries() + otherTransactions.lockRetries() - retriesBefore)
        .as("transactions retried after a deadlock or lock wait timeout")
        .isZero();
    assertThat(violations).isEmpty();
    assertThat(perInstance[0].get()).as("claimed through instance 1").isPositive();
    assertThat(perInstance[1].get()).as("claimed through instance 2").isPositive();
    assertThat(holder).hasSize(batches);
    assertThat(accepted.get()).isEqualTo(batches);
    assertThat(duplicates.get()).isPositive();
    assertThat(refusedStale.get()).isPositive();
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch_result WHERE job_id = ?", Integer.class, jobId))
        .isEqualTo(batches);
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM attempt WHERE job_id = ?", Integer.class, jobId))
        .isEqualTo(batches);
    assertThat(Jobs.get(Http.admin(port), jobId).get("state").asString()).isEqualTo("SUCCEEDED");
    assertThat(Jobs.get(Http.admin(port), jobId).get("counts").get("succeeded").asInt()).isEqualTo(batches);
  }

  @Test
  void expiredLeasesAreReapedAndTheOldHoldersReportsChangeNothing() {
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("expiry", "true", 100, 1));
    List<Lease> first = claims.claim("slow-worker", 50);
    assertThat(first).hasSize(50);

    clock.advance(Duration.ofMinutes(2).plusSeconds(1)); // past the 2-minute lease
    assertThat(leases.reapExpiredLeases()).isEqualTo(50);
    // A renewal by the old holder cannot revive a reaped lease; the reply tells it to stop.
    var instructions = leases.renew("slow-worker", first.stream().map(Lease::ref).toList());
    assertThat(instructions).hasSize(50).allSatisfy(i -> assertThat(i.reason()).contains("expired"));

    clock.advance(Duration.ofMinutes(1)); // past the retry back-off
    List<Lease> all = new ArrayList<>();
    List<Lease> got;
    while (!(got = claims.claim("fast-worker", 100)).isEmpty()) {
      all.addAll(got);
    }
    assertThat(all).hasSize(100);
    for (Lease stale : first) {
      assertThatThrownBy(() -> leases.complete("slow-worker", complete(stale)))
          .isInstanceOfSatisfying(
              ProblemException.class, e -> assertThat(e.status()).isEqualTo(HttpStatus.CONFLICT));
    }
    for (Lease lease : all) {
      assertThat(leases.complete("fast-worker", complete(lease)).status()).isEqualTo(ReportStatus.ACCEPTED);
    }
    assertThat(jdbc.queryForList(
            "SELECT outcome FROM attempt WHERE batch_id = ? ORDER BY number", String.class, first.get(0).batchId()))
        .containsExactly("EXPIRED", "SUCCEEDED");
    assertThat(Jobs.get(Http.admin(port), jobId).get("state").asString()).isEqualTo("SUCCEEDED");
  }

  @Test
  void heartbeatsKeepLeasesAliveOnlyForTheLeasesTheAgentReports() {
    Jobs.submit(Http.admin(port), Jobs.range("renew", "true", 3, 1));
    List<Lease> got = claims.claim("steady", 3);
    assertThat(got).hasSize(3);
    clock.advance(Duration.ofSeconds(90));
    // Reports two of three: those two are renewed; the unreported one is older than the claim grace: released.
    List<LeaseRef> reported = List.of(got.get(0).ref(), got.get(1).ref());
    assertThat(leases.renew("steady", reported)).isEmpty();
    clock.advance(Duration.ofSeconds(90)); // 3 min after the claim, 1.5 min after the renewal
    assertThat(leases.reapExpiredLeases()).isZero();
    assertThat(jdbc.queryForObject(
            "SELECT outcome FROM attempt WHERE lease_token = ?", String.class, got.get(2).leaseToken()))
        .isEqualTo("EXPIRED");
    assertThat(leases.complete("steady", complete(got.get(0))).status()).isEqualTo(ReportStatus.ACCEPTED);
    // Another worker cannot report a lease it does not hold.
    assertThatThrownBy(() -> leases.complete("intruder", complete(got.get(1))))
        .isInstanceOfSatisfying(
            ProblemException.class, e -> assertThat(e.status()).isEqualTo(HttpStatus.FORBIDDEN));
  }

  @Test
  void failuresBackOffThenBuryTheBatchAfterMaxAttempts() {
    var job = Jobs.range("flaky", "false", 1, 1);
    job.put("maxAttempts", 2);
    long jobId = Jobs.submit(Http.admin(port), job);
    Lease first = claims.claim("w", 1).get(0);
    leases.fail("w", fail(first));
    assertThat(claims.claim("w", 1)).as("backing off").isEmpty();
    clock.advance(Duration.ofMinutes(1));
    Lease second = claims.claim("w", 1).get(0);
    assertThat(second.attempt()).isEqualTo(2);
    leases.fail("w", fail(second));
    assertThat(Jobs.get(Http.admin(port), jobId).get("state").asString()).isEqualTo("FAILED");
    assertThat(jdbc.queryForObject("SELECT state FROM batch WHERE id = ?", String.class, second.batchId()))
        .isEqualTo("DEAD");
    // An exact repeat of the accepted failure report is a duplicate, not a second failure.
    assertThat(leases.fail("w", fail(second)).status()).isEqualTo(ReportStatus.DUPLICATE);
  }

  @Test
  void maxParallelCapsLeasesHeldAtOnceAcrossClaimers() throws Exception {
    var job = Jobs.range("throttled", "true", 200, 1);
    job.put("maxParallel", 5);
    Jobs.submit(Http.admin(port), job);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<List<Lease>>> results = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      String worker = "w" + i;
      results.add(pool.submit(() -> claims.claim(worker, 10)));
    }
    int total = 0;
    for (var f : results) {
      total += f.get().size();
    }
    pool.shutdown();
    assertThat(total).isEqualTo(5);
  }

  @Test
  void chaosOfExpiriesAndLateReportsStillAcceptsExactlyOneResultPerBatch() throws Exception {
    var job = Jobs.range("chaos", "true", 2_000, 1);
    job.put("maxAttempts", 100);
    long jobId = Jobs.submit(Http.admin(port), job);
    long retriesBefore = transactions.lockRetries();
    AtomicInteger accepted = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(5);
    List<Future<?>> running = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      String worker = "chaos-" + t;
      running.add(
          pool.submit(
              () -> {
                while (true) {
                  List<Lease> got = claims.claim(worker, 8);
                  if (got.isEmpty()) {
                    if (jdbc.queryForObject(
                            "SELECT pending_count + leased_count FROM job WHERE id = ?", Integer.class, jobId)
                        == 0) {
                      return null;
                    }
                    clock.advance(Duration.ofSeconds(30)); // let back-offs pass
                    continue;
                  }
                  for (Lease lease : got) {
                    if (ThreadLocalRandom.current().nextInt(5) == 0) {
                      continue; // this "agent" dies holding the lease
                    }
                    try {
                      if (leases.complete(worker, complete(lease)).status() == ReportStatus.ACCEPTED) {
                        accepted.incrementAndGet();
                      }
                    } catch (ProblemException e) {
                      assertThat(e.status()).isEqualTo(HttpStatus.CONFLICT); // reaped under our feet
                    }
                  }
                }
              }));
    }
    running.add(
        pool.submit(
            () -> {
              while (running.stream().limit(4).anyMatch(f -> !f.isDone())) {
                clock.advance(Duration.ofMinutes(3));
                leases.reapExpiredLeases();
                Thread.sleep(20); // pacing of the chaos thread only; nothing waits on it
              }
              return null;
            }));
    for (Future<?> f : running) {
      f.get();
    }
    pool.shutdown();
    assertThat(accepted.get()).isEqualTo(2_000);
    // The reaper races the engine for the same batches and job row, yet never deadlocks with it.
    assertThat(transactions.lockRetries() - retriesBefore)
        .as("transactions retried after a deadlock or lock wait timeout")
        .isZero();
    assertThat(
            jdbc.queryForList(
                "SELECT batch_id FROM attempt WHERE job_id = ? GROUP BY batch_id"
                    + " HAVING SUM(outcome = 'SUCCEEDED') <> 1 OR SUM(outcome = 'RUNNING') <> 0",
                Long.class,
                jobId))
        .isEmpty();
    assertThat(Jobs.get(Http.admin(port), jobId).get("state").asString()).isEqualTo("SUCCEEDED");
  }

  @Test
  void anAttemptRowIsWrittenOnceWhenItsLeaseEndsAndTheRunningOneIsItsBatchRow() {
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("once", "true", 2, 1));
    List<Lease> got = claims.claim("w1", 2);
    assertThat(got).hasSize(2);
    Lease a = got.get(0);
    Lease b = got.get(1);
    assertThat(a.commit()).as("the fixture's release").isNotNull();
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM attempt WHERE job_id = ?", Integer.class, jobId))
        .as("no attempt row while the leases run")
        .isZero();
    var running = Http.admin(port).get("/api/v1/batches/" + a.batchId()).json().get("attemptHistory");
    assertThat(running).hasSize(1);
    assertThat(running.get(0).get("outcome").asString()).isEqualTo("RUNNING");
    assertThat(running.get(0).get("id").isNull()).as("a running attempt has no id yet").isTrue();
    assertThat(running.get(0).get("commit").asString()).isEqualTo(a.commit());
    assertThat(running.get(0).get("workerId").asString()).isEqualTo("w1");

    assertThat(leases.complete("w1", complete(a)).status()).isEqualTo(ReportStatus.ACCEPTED);
    assertThat(leases.complete("w1", complete(a)).status()).as("an exact repeat").isEqualTo(ReportStatus.DUPLICATE);
    CompleteRequest other = complete(a);
    CompleteRequest changed =
        new CompleteRequest(other.batchId(), other.leaseToken(), other.commit(), other.version(), 0,
            other.startedAt(), other.finishedAt(), "other output\n", "");
    assertThatThrownBy(() -> leases.complete("w1", changed))
        .isInstanceOfSatisfying(ProblemException.class, e -> assertThat(e.status()).isEqualTo(HttpStatus.CONFLICT));
    assertThatThrownBy(() -> leases.fail("w1", fail(a)))
        .as("a failure report of a lease that already succeeded")
        .isInstanceOfSatisfying(ProblemException.class, e -> assertThat(e.status()).isEqualTo(HttpStatus.CONFLICT));
    leases.fail("w1", fail(b));
    assertThat(
            jdbc.queryForList(
                "SELECT CONCAT(batch_id, ':', number, ':', outcome, ':', worker_id, ':', commit_sha, ':',"
                    + " claimed_at IS NOT NULL, ':', finished_at IS NOT NULL) FROM attempt WHERE job_id = ?"
                    + " ORDER BY batch_id",
                String.class,
                jobId))
        .containsExactly(
            a.batchId() + ":1:SUCCEEDED:w1:" + a.commit() + ":1:1",
            b.batchId() + ":1:FAILED:w1:" + b.commit() + ":1:1");
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch_result WHERE job_id = ?", Integer.class, jobId))
        .isEqualTo(1);
  }

  @Test
  void leasesOfAJobPausedWhileTheyWereWrittenAreWithdrawnAsIfNeverGranted() throws Exception {
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("paused-meanwhile", "true", 3, 1));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (java.sql.Connection admin = jdbc.getDataSource().getConnection()) {
      admin.setAutoCommit(false);
      // The admin's pause holds the job row: the claim plans (it saw the job QUEUED), picks and writes its leases,
      // then waits for the job row, and finds it PAUSED.
      try (var s = admin.prepareStatement("UPDATE job SET state = 'PAUSED' WHERE id = ?")) {
        s.setLong(1, jobId);
        s.executeUpdate();
      }
      Future<List<Lease>> claim = pool.submit(() -> claims.claim("w", 3));
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  jdbc.queryForObject(
                          "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'",
                          Integer.class)
                      > 0);
      admin.commit();
      assertThat(claim.get()).isEmpty();
    } finally {
      pool.shutdown();
    }
    assertThat(
            jdbc.queryForList(
                "SELECT CONCAT(state, ':', attempts, ':', worker_id IS NULL, ':', lease_token IS NULL, ':',"
                    + " leased_at IS NULL, ':', lease_commit IS NULL) FROM batch WHERE job_id = ?",
                String.class,
                jobId))
        .containsExactly("PENDING:0:1:1:1:1", "PENDING:0:1:1:1:1", "PENDING:0:1:1:1:1");
    assertThat(jdbc.queryForMap("SELECT pending_count, leased_count FROM job WHERE id = ?", jobId))
        .containsEntry("pending_count", 3)
        .containsEntry("leased_count", 0);
    jdbc.update("UPDATE job SET state = 'QUEUED' WHERE id = ?", jobId);
    List<Lease> later = claims.claim("w", 3);
    assertThat(later).hasSize(3).allSatisfy(l -> assertThat(l.attempt()).isEqualTo(1));
  }

  static CompleteRequest complete(Lease lease) {
    Instant now = Instant.now();
    return new CompleteRequest(
        lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(), 0, now, now,
        "{\"batch\":" + lease.batchId() + "}\n", "");
  }

  static dev.nightshift.protocol.FailRequest fail(Lease lease) {
    Instant now = Instant.now();
    return new dev.nightshift.protocol.FailRequest(
        lease.batchId(), lease.leaseToken(), lease.commit(), lease.version(),
        dev.nightshift.protocol.AttemptOutcome.FAILED, 1, now, now,
        "exit 1", "boom");
  }
}
