package dev.nightshift.server.benchmarks;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.LeaseRef;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.ReportAnswer;
import dev.nightshift.protocol.ReportResponse;
import dev.nightshift.protocol.ReportStatus;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.testing.Http;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A simulated agent: the real protocol over HTTP (JSON, bearer token, instance header, keep-alive connections of
 * a shared {@link HttpClient}), but it runs nothing: every lease it gets is reported as a success at once. All
 * calls are asynchronous, so thousands of agents need only a few threads.
 */
final class LoadAgent {
  /** How finished batches are reported. */
  enum Reports {
    /** On the next claim (one round trip per claim: reports and the next leases); the protocol's default. */
    CLAIM,
    /** One {@code POST /agent/v1/complete} per batch, then a claim. */
    SEPARATE;

    static Reports fromProperty() {
      return valueOf(System.getProperty("benchmark.reports", "claim").toUpperCase(java.util.Locale.ROOT));
    }
  }

  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(90);

  /**
   * Settings of the JDK HTTP client; must run before the first {@link HttpClient} is built in this JVM (the
   * client reads them once). Idle connections are closed by the client after 60 s, before the server's 65 s
   * keep-alive timeout could close one under a request being sent (the client does not retry a POST), and after
   * the 30 s between an agent's heartbeats (so a heartbeat reuses its connection). The pool does not cap
   * connections (HTTP/1.1: one per request in flight; 0 = no limit on idle ones kept).
   */
  static void configureHttpClient() {
    System.setProperty("jdk.httpclient.keepalive.timeout", "60");
    System.setProperty("jdk.httpclient.connectionPoolSize", "0");
  }

  /** One client for many agents: HTTP/1.1 with keep-alive, a few threads for all callbacks. */
  static HttpClient client(ExecutorService executor) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(30))
        .executor(executor)
        .build();
  }

  final String name;
  final int slots;
  final String workerId;
  private final String token;
  private final String instance;
  private final HttpClient client;
  private final String base;
  /** Where requests are counted and timed; a benchmark may switch it between phases. */
  private volatile LoadStats stats;
  /** Leases in hand (between a claim answer and their report), listed by heartbeats. */
  private volatile List<Lease> holding = List.of();
  /** Called with every claim answer (after it was checked and counted). */
  volatile Consumer<ClaimResponse> onClaimAnswer = r -> {};

  private LoadAgent(
      String name,
      int slots,
      String workerId,
      String token,
      String instance,
      HttpClient client,
      String base,
      LoadStats stats) {
    this.name = name;
    this.instance = instance;
    this.slots = slots;
    this.workerId = workerId;
    this.token = token;
    this.client = client;
    this.base = base;
    this.stats = stats;
  }

  /** Enrolls with the enrollment token (kind {@code register}). */
  static CompletableFuture<LoadAgent> enroll(
      HttpClient client, String baseUrl, String name, int slots, LoadStats stats) {
    RegisterRequest request =
        new RegisterRequest(
            Http.ENROLLMENT_TOKEN,
            name,
            new HostFacts(name, "Linux", "amd64", 2, 1L << 30, "load-agent", "17"),
            slots,
            Map.of());
    String instance = UUID.randomUUID().toString();
    return post(client, baseUrl, null, instance, stats, "register", AgentPaths.REGISTER, request)
        .thenApply(
            r -> {
              stats.record("register", r.micros);
              if (r.status != 200) {
                throw new IllegalStateException("register " + name + ": " + r.status + " " + r.body);
              }
              RegisterResponse reg = Http.JSON.readValue(r.body, RegisterResponse.class);
              return new LoadAgent(
                  name, slots, reg.workerId(), reg.agentToken(), instance, client, baseUrl, stats);
            })
        .whenComplete(
            (a, e) -> {
              if (e != null) {
                stats.error("register " + name + ": " + e);
              }
            });
  }

  /** Counts and times this agent's requests from now on in {@code into}. */
  void statsTo(LoadStats into) {
    this.stats = into;
  }

  // ---- single calls -------------------------------------------------------------------------------------------

  /** A heartbeat listing the leases in hand (kind {@code heartbeat}); errors are counted, never thrown. */
  CompletableFuture<Void> heartbeat(WorkerState state) {
    List<Lease> held = holding;
    HeartbeatRequest request =
        new HeartbeatRequest(
            state,
            state == WorkerState.OFFLINE ? "benchmark over" : "load agent",
            slots,
            Math.max(0, slots - held.size()),
            held.stream().map(Lease::ref).toList(),
            null);
    return send("heartbeat", AgentPaths.HEARTBEAT, request)
        .handle(
            (r, e) -> {
              if (e != null) {
                stats.error(name + " heartbeat: " + e);
              } else {
                stats.record("heartbeat", r.micros);
                if (r.status != 200) {
                  stats.error(name + " heartbeat: " + r.status + " " + r.body);
                }
              }
              return null;
            });
  }

  /**
   * A claim; latency is recorded as {@code claim+reports} when it carried reports, else {@code claim → leases} or
   * {@code claim → none (waited)} (which includes the time parked). Every report answer other than ACCEPTED is an
   * error. Completes with the leases granted (empty on any error).
   */
  CompletableFuture<List<Lease>> claim(int freeSlots, long waitMillis, List<CompleteRequest> reports) {
    ClaimRequest request =
        new ClaimRequest(freeSlots, waitMillis, reports.isEmpty() ? null : reports, null);
    return send("claim", AgentPaths.CLAIM, request)
        .handle(
            (r, e) -> {
              if (e != null) {
                stats.error(name + " claim: " + e);
                return List.<Lease>of();
              }
              if (r.status != 200) {
                stats.error(name + " claim: " + r.status + " " + r.body);
                return List.<Lease>of();
              }
              ClaimResponse answer = Http.JSON.readValue(r.body, ClaimResponse.class);
              List<Lease> leases = answer.leases() == null ? List.of() : answer.leases();
              String kind =
                  !reports.isEmpty() ? "claim+reports" : leases.isEmpty() ? "claim → none (waited)" : "claim → leases";
              stats.record(kind, r.micros);
              if (!reports.isEmpty()) {
                List<ReportAnswer> answers = answer.reports() == null ? List.of() : answer.reports();
                long ok = answers.stream().filter(a -> a.status() == ReportStatus.ACCEPTED).count();
                if (answers.size() != reports.size() || ok != reports.size()) {
                  stats.error(
                      name + " claim carried " + reports.size() + " reports, answers: "
                          + answers.stream().map(a -> a.batchId() + "=" + a.status()).toList());
                }
                stats.accepted.addAndGet(ok);
              }
              onClaimAnswer.accept(answer);
              return leases;
            });
  }

  /** One completion per lease, all at once (kind {@code complete}); completes when all are answered. */
  CompletableFuture<Void> completeSeparately(List<CompleteRequest> reports) {
    CompletableFuture<?>[] calls = new CompletableFuture<?>[reports.size()];
    for (int i = 0; i < calls.length; i++) {
      CompleteRequest report = reports.get(i);
      calls[i] =
          send("complete", AgentPaths.COMPLETE, report)
              .handle(
                  (r, e) -> {
                    if (e != null) {
                      stats.error(name + " complete " + report.batchId() + ": " + e);
                    } else if (r.status != 200) {
                      stats.error(name + " complete " + report.batchId() + ": " + r.status + " " + r.body);
                    } else {
                      stats.record("complete", r.micros);
                      ReportStatus status = Http.JSON.readValue(r.body, ReportResponse.class).status();
                      if (status == ReportStatus.ACCEPTED) {
                        stats.accepted.incrementAndGet();
                      } else {
                        stats.error(name + " complete " + report.batchId() + ": " + status);
                      }
                    }
                    return null;
                  });
    }
    return CompletableFuture.allOf(calls);
  }

  /** The report of a batch that "ran": exit 0, one line of output naming the batch. */
  static CompleteRequest success(Lease lease) {
    Instant now = Instant.now();
    return new CompleteRequest(
        lease.batchId(),
        lease.leaseToken(),
        lease.commit(),
        lease.version(),
        0,
        now,
        now,
        "{\"batch\":" + lease.batchId() + "}\n",
        "");
  }

  // ---- loops --------------------------------------------------------------------------------------------------

  /**
   * Claims with all free slots and reports every lease at once, until {@code stop} says so and nothing is left
   * to report. A claim without reports waits up to {@code waitMillis}. Completes when the loop ends.
   */
  CompletableFuture<Void> work(Reports mode, long waitMillis, BooleanSupplier stop) {
    CompletableFuture<Void> finished = new CompletableFuture<>();
    step(mode, waitMillis, stop, List.of(), finished);
    return finished;
  }

  private void step(
      Reports mode, long waitMillis, BooleanSupplier stop, List<Lease> done, CompletableFuture<Void> finished) {
    if (done.isEmpty() && stop.getAsBoolean()) {
      holding = List.of();
      finished.complete(null);
      return;
    }
    holding = done;
    List<CompleteRequest> reports = new ArrayList<>(done.size());
    for (Lease lease : done) {
      reports.add(success(lease));
    }
    CompletableFuture<List<Lease>> next;
    if (mode == Reports.CLAIM) {
      next = claim(slots, waitMillis, reports);
    } else {
      next =
          completeSeparately(reports)
              .thenCompose(
                  v -> {
                    holding = List.of();
                    return stop.getAsBoolean()
                        ? CompletableFuture.completedFuture(List.<Lease>of())
                        : claim(slots, waitMillis, List.of());
                  });
    }
    next.whenComplete(
        (leases, e) -> {
          if (e != null) {
            stats.error(name + " loop: " + e);
            finished.completeExceptionally(e);
            return;
          }
          step(mode, waitMillis, stop, leases, finished);
        });
  }

  /**
   * Keeps one claim parked (re-issued whenever answered) until {@code stop}; leases are unexpected here (no work
   * is submitted) and count as errors. A failed claim is retried after a second.
   */
  CompletableFuture<Void> park(long waitMillis, BooleanSupplier stop) {
    CompletableFuture<Void> finished = new CompletableFuture<>();
    parkStep(waitMillis, stop, finished);
    return finished;
  }

  private void parkStep(long waitMillis, BooleanSupplier stop, CompletableFuture<Void> finished) {
    if (stop.getAsBoolean()) {
      finished.complete(null);
      return;
    }
    long errorsBefore = stats.errors.get();
    claim(slots, waitMillis, List.of())
        .whenComplete(
            (leases, e) -> {
              if (leases != null && !leases.isEmpty()) {
                stats.error(name + " got " + leases.size() + " unexpected leases");
              }
              if (e != null || stats.errors.get() != errorsBefore) {
                CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS)
                    .execute(() -> parkStep(waitMillis, stop, finished));
              } else {
                parkStep(waitMillis, stop, finished);
              }
            });
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  /** An answer and how long it took, in microseconds from send to the whole body received. */
  record Reply(int status, String body, long micros) {}

  private CompletableFuture<Reply> send(String kind, String path, Object body) {
    return post(client, base, token, instance, stats, kind, path, body);
  }

  private static CompletableFuture<Reply> post(
      HttpClient client,
      String base,
      String token,
      String instance,
      LoadStats stats,
      String kind,
      String path,
      Object body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(REQUEST_TIMEOUT)
            .header("Content-Type", "application/json")
            .header(AgentPaths.AGENT_INSTANCE_HEADER, instance)
            .POST(HttpRequest.BodyPublishers.ofString(Http.JSON.writeValueAsString(body)));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    stats.sent(kind);
    long start = System.nanoTime();
    return sendHonouringRetryAfter(client, b.build())
        .thenApply(r -> new Reply(r.statusCode(), r.body(), (System.nanoTime() - start) / 1000));
  }

  /**
   * Sends, and sends again after the server's {@code Retry-After} when it answers 503 with one (a busy server
   * spreading a crowd of agents, or a database outage), as the real agent does. The latency recorded is from the
   * first send to the final answer, waits included.
   */
  private static CompletableFuture<HttpResponse<String>> sendHonouringRetryAfter(
      HttpClient client, HttpRequest request) {
    return sendOnce(client, request)
        .thenCompose(
            r -> {
              java.util.Optional<String> retryAfter = r.headers().firstValue("Retry-After");
              if (r.statusCode() != 503 || retryAfter.isEmpty()) {
                return CompletableFuture.completedFuture(r);
              }
              RETRIED_AFTER_503.incrementAndGet();
              long seconds = Math.max(0, Math.min(600, Long.parseLong(retryAfter.get().trim())));
              return CompletableFuture.supplyAsync(
                      () -> null, CompletableFuture.delayedExecutor(seconds, TimeUnit.SECONDS))
                  .thenCompose(v -> sendHonouringRetryAfter(client, request));
            });
  }

  private static CompletableFuture<HttpResponse<String>> sendOnce(HttpClient client, HttpRequest request) {
    return client
        .sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .exceptionallyCompose(
            e -> {
              // A kept-alive connection the server closed just as this request went out (the JDK client does not
              // retry a POST): what an agent does too, send it again once, on a fresh connection.
              if (!String.valueOf(e.getMessage()).contains("received no bytes")) {
                return CompletableFuture.failedFuture(e);
              }
              STALE_CONNECTION_RETRIES.incrementAndGet();
              return client.sendAsync(request, HttpResponse.BodyHandlers.ofString());
            });
  }

  /** Calls answered 503 with Retry-After and sent again after it. */
  static final java.util.concurrent.atomic.AtomicInteger RETRIED_AFTER_503 =
      new java.util.concurrent.atomic.AtomicInteger();

  /** Requests sent again because the server had closed their kept-alive connection as they were sent. */
  static final java.util.concurrent.atomic.AtomicInteger STALE_CONNECTION_RETRIES =
      new java.util.concurrent.atomic.AtomicInteger();
}
