package dev.nightshift.server.batches;

import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

@NightshiftTest
class EngineScratchTest {
  @LocalServerPort int port;
  @Autowired BatchEngine engine;
  @Autowired JdbcTemplate jdbc;

  @Test
  void throughput() throws Exception {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
    int n = Integer.getInteger("scratch.batches", 20000);
    int agents = Integer.getInteger("scratch.agents", 64);
    int slots = Integer.getInteger("scratch.slots", 16);
    Jobs.submit(Http.admin(port), Jobs.range("scratch", "true", n, 1));
    AtomicInteger done = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(agents);
    long t0 = System.nanoTime();
    long[] g0 = engine.groupStats();
    List<Future<?>> fs = new ArrayList<>();
    for (int a = 0; a < agents; a++) {
      String w = "w" + a;
      fs.add(pool.submit(() -> {
        List<CompleteRequest> reports = new ArrayList<>();
        while (true) {
          var out = engine.run(new BatchEngine.Request(w, Map.of(), slots, reports, null));
          done.addAndGet(reports.size());
          reports = new ArrayList<>();
          Instant now = Instant.now();
          for (Lease l : out.leases()) {
            reports.add(new CompleteRequest(l.batchId(), l.leaseToken(), l.commit(), l.version(), 0, now, now, "x\n", ""));
          }
          if (out.leases().isEmpty() && reports.isEmpty()) return null;
        }
      }));
    }
    for (var f : fs) f.get();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    long[] g1 = engine.groupStats();
    System.out.printf("%nSCRATCH %d batches in %d ms = %.0f/s; groups %d, mean group %.1f requests%n%n", done.get(), ms,
        done.get() * 1000.0 / ms, g1[0] - g0[0], (g1[1] - g0[1]) / (double) (g1[0] - g0[0]));
    pool.shutdown();
  }
}
