package dev.nightshift.server.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.server.batches.ClaimService;
import dev.nightshift.server.batches.LeaseService;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.TestConfig;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.mysql.MySQLContainer;

/**
 * The claim contract on a real MySQL 8.4 (Connector/J, {@code jdbc:mysql:}), so the MySQL path stays honest.
 * Runs wherever a Docker engine answers; skipped cleanly where none does (these build machines).
 */
@Testcontainers(disabledWithoutDocker = true)
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "nightshift.background.enabled=false",
      "nightshift.admin-password=" + Http.ADMIN_PASSWORD,
      "nightshift.enrollment-token=" + Http.ENROLLMENT_TOKEN
    })
@Import(TestConfig.class)
class MySqlContractTest {
  @Container static MySQLContainer mysql = new MySQLContainer("mysql:8.4");

  /** The URL itself, not a service connection: without spring.datasource.url the embedded database would start. */
  @DynamicPropertySource
  static void database(DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", mysql::getJdbcUrl);
    registry.add("spring.datasource.username", mysql::getUsername);
    registry.add("spring.datasource.password", mysql::getPassword);
  }

  @LocalServerPort int port;
  @Autowired ClaimService claims;
  @Autowired LeaseService leases;

  @Test
  void competingClaimersNeverShareABatchAndEveryResultIsAcceptedOnce() throws Exception {
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
    int batches = 2_000;
    long jobId = Jobs.submit(Http.admin(port), Jobs.range("mysql", "true", batches, 1));
    Map<Long, String> holder = new ConcurrentHashMap<>();
    List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<?>> running = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      String worker = "w" + t;
      running.add(
          pool.submit(
              () -> {
                List<Lease> got;
                while (!(got = claims.claim(worker, 10)).isEmpty()) {
                  for (Lease lease : got) {
                    if (holder.putIfAbsent(lease.batchId(), worker) != null) {
                      violations.add("batch " + lease.batchId() + " leased twice");
                    }
                    Instant now = Instant.now();
                    var r =
                        leases.complete(
                            worker,
                            new CompleteRequest(
                                lease.batchId(), lease.leaseToken(), null, null, 0, now, now, "ok\n", ""));
                    if (r.status() != ReportStatus.ACCEPTED) {
                      violations.add("batch " + lease.batchId() + " not accepted");
                    }
                  }
                }
                return null;
              }));
    }
    for (Future<?> f : running) {
      f.get();
    }
    pool.shutdown();
    assertThat(violations).isEmpty();
    assertThat(holder).hasSize(batches);
    assertThat(Jobs.get(Http.admin(port), jobId).get("state").asString()).isEqualTo("SUCCEEDED");
  }
}
