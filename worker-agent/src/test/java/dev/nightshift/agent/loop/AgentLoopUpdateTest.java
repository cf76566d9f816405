package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.runner.WorkDirWorkspace;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.agent.update.LauncherDir;
import dev.nightshift.agent.update.SelfUpdate;
import dev.nightshift.protocol.AgentOffer;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.HostFacts;
import dev.nightshift.protocol.WorkerState;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop offered an agent update while a batch runs: it stages it (over real HTTP), claims nothing more, lets the
 * batch finish and report, and ends asking for a restart; no lease is given back.
 */
@DisabledOnOs(OS.WINDOWS)
class AgentLoopUpdateTest {
  static final byte[] JAR = "the next agent".getBytes(StandardCharsets.UTF_8);
  @TempDir Path data;
  final FakeAgentServer server = new FakeAgentServer();
  HttpServer downloads;
  AgentLoop loop;

  @AfterEach
  void stop() {
    if (loop != null) {
      loop.shutdown();
    }
    if (downloads != null) {
      downloads.stop(0);
    }
  }

  @Test
  void aStagedUpdateStopsClaimingLetsTheBatchFinishThenAsksForARestart() throws Exception {
    downloads = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    downloads.createContext("/install/nightshift-agent.jar", exchange -> {
      exchange.sendResponseHeaders(200, JAR.length);
      exchange.getResponseBody().write(JAR);
      exchange.close();
    });
    downloads.start();
    MutableClock clock = new MutableClock(Instant.parse("2026-12-03T10:00:00Z"));
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = new Identity("worker-0", "agent-token-0", "http://fake");
    store.save(id);
    Enrollment enrollment = new Enrollment(store, id, "http://fake", "enroll-token", "pc", 1, Map.of(),
        () -> new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17"));
    server.authenticateWith(enrollment::token);
    RunnerConfig rc = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096,
        List.of("sh", "-c"), Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
    LoopConfig config = new LoopConfig(1, Duration.ZERO, Duration.ofSeconds(30), Duration.ofSeconds(1),
        Duration.ofSeconds(60), Duration.ofMillis(10), Duration.ofMillis(50), 3).withSlotClaims(false);
    loop = new AgentLoop(
        new AgentLoop.Parts(server, enrollment, new ScriptRunner(rc, new WorkDirWorkspace(data.resolve("work")), clock),
            new Spool(data.resolve("spool")), () -> IdleVerdict.run("test")),
        config, clock, BackoffTest.highest());
    LauncherDir dir = LauncherDir.under(data);
    loop.useSelfUpdate(new SelfUpdate(
        dir, URI.create("http://127.0.0.1:" + downloads.getAddress().getPort()), "1.0", null));

    Path go = data.resolve("go");
    server.add(Leases.items(1, "while [ ! -e '" + go + "' ]; do sleep 0.05; done; cat", 60, "1"));
    server.add(Leases.items(2, "cat", 60, "2"));
    assertThat(loop.tick()).isEqualTo(TickOutcome.CLAIMED); // batch 1 runs
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(JAR));
    server.offerAgent(new AgentOffer("1.1", sha, "/install/nightshift-agent.jar"));
    loop.heartbeatOnce();
    assertThat(server.heartbeats().get(0).agentVersion()).isNotBlank();
    assertThat(dir.heartbeatOk()).exists();
    await().atMost(Duration.ofSeconds(10)).until(() -> "1.1".equals(LauncherDir.under(data).staged().toFile().exists()
        ? java.nio.file.Files.readString(dir.staged()).strip() : null));
    await().atMost(Duration.ofSeconds(10)).until(() -> loop.heartbeatRequest().state() == WorkerState.DRAINING);
    assertThat(loop.heartbeatRequest().reason()).contains("updating to agent 1.1");

    int claimsBefore = server.claims().size();
    Thread daemon = new Thread(loop::runUntilStopped, "test-loop");
    daemon.start();
    java.nio.file.Files.createFile(go); // batch 1 may end now
    daemon.join(20_000);
    assertThat(daemon.isAlive()).as("the loop ended by itself").isFalse();
    assertThat(loop.restartRequested()).isTrue();
    assertThat(server.completes()).extracting(CompleteRequest::batchId).containsExactly(1L);
    assertThat(server.claims().subList(claimsBefore, server.claims().size()))
        .as("no claim for work after the update was staged")
        .extracting(ClaimRequest::freeSlots)
        .containsOnly(0);
    assertThat(server.releases()).isEmpty();
  }
}
