package dev.nightshift.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.sun.net.httpserver.HttpServer;
import dev.nightshift.agent.system.Json;
import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.BatchInput;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.ReleaseResponse;
import dev.nightshift.protocol.ReportResponse;
import dev.nightshift.protocol.ReportStatus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code once} through the real HTTP client against a minimal protocol server: enroll, claim, run, report, exit. */
@DisabledOnOs(OS.WINDOWS)
class OnceEndToEndTest {
  @TempDir Path home;
  private HttpServer server;
  private final List<RegisterRequest> registers = new CopyOnWriteArrayList<>();
  private final List<CompleteRequest> completes = new CopyOnWriteArrayList<>();
  private final List<FailRequest> fails = new CopyOnWriteArrayList<>();
  private final List<String> authorizations = new CopyOnWriteArrayList<>();
  private final AtomicInteger claims = new AtomicInteger();

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private void startServer() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    var json = Json.mapper();
    server.createContext(AgentPaths.PREFIX + "/", ex -> {
      String path = ex.getRequestURI().getPath();
      byte[] body = ex.getRequestBody().readAllBytes();
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      if (auth != null) {
        authorizations.add(auth);
      }
      Object answer = switch (path) {
        case AgentPaths.REGISTER -> {
          registers.add(json.readValue(body, RegisterRequest.class));
          yield new RegisterResponse("w-42", "nsa_agent", 60_000, 120_000);
        }
        case AgentPaths.HEARTBEAT -> new HeartbeatResponse(Instant.now(), 60_000, List.of(), null);
        case AgentPaths.CLAIM -> claims.incrementAndGet() == 1
            ? new ClaimResponse(List.of(new Lease(5, 9, 1, "lt-5", Instant.now().plusSeconds(120), null, null,
                "touch ran-without-code", 30, new BatchInput("1\n2\n", 2, null, null), Map.of())))
            : new ClaimResponse(List.of());
        case AgentPaths.COMPLETE -> {
          completes.add(json.readValue(body, CompleteRequest.class));
          yield new ReportResponse(ReportStatus.ACCEPTED);
        }
        case AgentPaths.FAIL -> {
          fails.add(json.readValue(body, FailRequest.class));
          yield new ReportResponse(ReportStatus.ACCEPTED);
        }
        case AgentPaths.RELEASE -> new ReleaseResponse(0);
        default -> null;
      };
      byte[] out = answer == null ? new byte[0] : json.writeValueAsBytes(answer);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(answer == null ? 404 : 200, out.length == 0 ? -1 : out.length);
      if (out.length > 0) {
        ex.getResponseBody().write(out);
      }
      ex.close();
    });
    server.start();
  }

  /** A release key (its private half long gone): this agent trusts signed releases only. */
  static final String RELEASE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKSHg8pQaszuEIi52/8GvXObFQXifiNSMRLWEgc2HtEi test@example.com";

  private int cli(Map<String, String> env, StringWriter out, String... args) {
    CommandLine cli = AgentCli.commandLine(new CliEnvironment(env, home.toString(), e -> "e2e-host", false));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(out, true));
    return cli.execute(args);
  }

  @Test
  void onceEnrollsRefusesALeaseThatNamesNoCommitReportsThatAndExits() throws Exception {
    startServer();
    Path data = home.resolve("agent");
    String url = "http://127.0.0.1:" + server.getAddress().getPort();
    StringWriter out = new StringWriter();

    int code = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> cli(
        Map.of("NIGHTSHIFT_ENROLLMENT_TOKEN", "enroll-me", "PATH", System.getenv("PATH")), out,
        "once", "--server", url, "--data-dir", data.toString(), "--slots", "2", "--label", "os=linux",
        "--label", "tier=desk", "--trusted-key", RELEASE_KEY));

    assertThat(code).as(out.toString()).isZero();
    assertThat(registers).singleElement().satisfies(r -> {
      assertThat(r.enrollmentToken()).isEqualTo("enroll-me");
      assertThat(r.name()).isEqualTo("e2e-host");
      assertThat(r.slots()).isEqualTo(2);
      assertThat(r.labels()).containsEntry("os", "linux").containsEntry("tier", "desk");
      assertThat(r.host().cpus()).isPositive();
    });
    // a lease without code is handed back as refused, with the reason, and its command never runs
    assertThat(completes).isEmpty();
    assertThat(fails).singleElement().satisfies(f -> {
      assertThat(f.batchId()).isEqualTo(5);
      assertThat(f.leaseToken()).isEqualTo("lt-5");
      // an agent trusting signed releases only (the default) refuses it outright: not retried elsewhere
      assertThat(f.outcome()).isEqualTo(dev.nightshift.protocol.AttemptOutcome.REFUSED);
      assertThat(f.error()).startsWith("UNSIGNED_RELEASE: ").contains("names no commit");
    });
    assertThat(authorizations).isNotEmpty().allMatch("Bearer nsa_agent"::equals);
    assertThat(Files.readString(data.resolve("identity.json"))).contains("w-42", "nsa_agent", url);

    // a second run reuses the identity: no enrollment token needed, no second registration
    StringWriter again = new StringWriter();
    assertThat(cli(Map.of("NIGHTSHIFT_TRUSTED_KEYS", RELEASE_KEY), again, "once", "--data-dir", data.toString()))
        .as(again.toString()).isZero();
    assertThat(registers).hasSize(1);

    try (var files = Files.walk(data)) {
      List<String> names = files.filter(Files::isRegularFile).map(p -> data.relativize(p).toString()).sorted()
          .collect(Collectors.toList());
      assertThat(names).contains("agent.lock", "identity.json", "logs/agent.log.0", "logs/attempts/5-1.log")
          .doesNotContain("agent.pid")
          .noneMatch(n -> n.startsWith("spool/") || n.startsWith("runs/") || n.endsWith("ran-without-code"));
    }
    // the data dir is its OS user's only
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(data)))
        .isEqualTo("rwx------");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(data.resolve("identity.json")))).isEqualTo("rw-------");
  }
}
