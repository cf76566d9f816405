package dev.nightshift.agent.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdleVerdict;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.sync.Checkouts;
import dev.nightshift.agent.sync.CodeRepository;
import dev.nightshift.agent.sync.GitWorkspace;
import dev.nightshift.agent.sync.Prefetcher;
import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.agent.testing.GitRemote;
import dev.nightshift.agent.testing.GitRemote.Exec;
import dev.nightshift.agent.testing.Leases;
import dev.nightshift.agent.testing.MutableClock;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.CodeRelease;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.HostFacts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** Code distribution through the loop: leases run in checkouts of their commit, fetched from a file:// remote. */
@DisabledOnOs(OS.WINDOWS)
class AgentLoopCodeTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path data;
  @TempDir Path remoteDir;
  private final FakeAgentServer server = new FakeAgentServer();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
  private GitRemote remote;
  private CodeRepository repo;
  private Checkouts checkouts;
  private AgentLoop loop;

  @BeforeEach
  void setUp() throws Exception {
    remote = GitRemote.create(remoteDir.resolve("code.git"));
  }

  @AfterEach
  void tearDown() {
    if (loop != null) {
      loop.shutdown();
    }
    if (repo != null) {
      repo.close();
    }
    remote.close();
  }

  private AgentLoop loop(int slots) {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = new Identity("worker-0", "agent-token-0", "http://fake");
    store.save(id);
    Enrollment enrollment = new Enrollment(store, id, "http://fake", null, "pc", slots, Map.of(),
        () -> new HostFacts("pc", "Linux", "amd64", 4, 0, "dev", "17"));
    repo = new CodeRepository(data.resolve("code/repo.git"), remote.url(), enrollment::token, Duration.ofSeconds(10));
    checkouts = new Checkouts(repo, data.resolve("code/checkouts"), 4, clock);
    RunnerConfig rc = new RunnerConfig(data.resolve("runs"), data.resolve("logs/attempts"), 1 << 20, 4096,
        List.of("sh", "-c"), Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
    ScriptRunner runner =
        new ScriptRunner(rc, new GitWorkspace(checkouts), clock);
    LoopConfig config = new LoopConfig(slots, Duration.ZERO, Duration.ofSeconds(30), Duration.ofSeconds(1),
        Duration.ofSeconds(60), Duration.ofMillis(10), Duration.ofMillis(50), 3);
    loop = new AgentLoop(
        new AgentLoop.Parts(server, enrollment, runner, new Spool(data.resolve("spool")),
            () -> IdleVerdict.run("test"), new Prefetcher(checkouts)),
        config, clock, BackoffTest.highest());
    loop.restore();
    return loop;
  }

  private String release(String version) throws Exception {
    return remote.commit("refs/heads/worker", Map.of(
        "VERSION", version + "\n",
        "bin/process.sh", new Exec("#!/bin/sh\nwhile read -r item; do echo \"$item@$(cat VERSION)\"; done\n")));
  }

  @Test
  void aLeaseRunsInTheCheckoutOfItsCommitAndALeaseWithoutACommitIsRefused() throws Exception {
    String a = release("1.0");
    String b = release("2.0");
    AgentLoop loop = loop(2);
    server.add(Leases.atCommit(1, a, "1.0", "bin/process.sh && echo \"$NIGHTSHIFT_COMMIT $NIGHTSHIFT_VERSION\"",
        "\"x\""));
    server.add(Leases.atCommit(2, b, "2.0", "bin/process.sh", "\"y\""));
    Path ran = data.resolve("ran-without-code");
    server.add(Leases.items(3, "touch '" + ran + "'", 10));

    await().atMost(WAIT).until(() -> {
      loop.tick();
      return server.completes().size() == 2 && server.fails().size() == 1;
    });
    CompleteRequest first = byBatch(server.completes(), 1);
    assertThat(first.output()).as(first.logTail()).isEqualTo("\"x\"@1.0\n" + a + " 1.0\n");
    assertThat(first.commit()).isEqualTo(a);
    assertThat(first.version()).isEqualTo("1.0");
    CompleteRequest second = byBatch(server.completes(), 2);
    assertThat(second.output()).as(second.logTail()).isEqualTo("\"y\"@2.0\n");
    assertThat(second.commit()).isEqualTo(b);
    assertThat(second.version()).isEqualTo("2.0");
    FailRequest noCommit = server.fails().get(0);
    assertThat(noCommit.batchId()).isEqualTo(3);
    assertThat(noCommit.outcome()).isEqualTo(AttemptOutcome.FAILED);
    assertThat(noCommit.exitCode()).isNull();
    assertThat(noCommit.error()).contains("the lease names no commit: refused to run its command");
    assertThat(ran).doesNotExist(); // the command never ran
    assertThat(checkouts.commits()).containsExactlyInAnyOrder(a, b);
  }

  @Test
  void aCommitMissingOnTheServerFailsThatAttemptAndAnotherLeaseStillRuns() throws Exception {
    String good = release("1.0");
    String missing = "0123456789abcdef0123456789abcdef01234567";
    AgentLoop loop = loop(1);
    server.add(Leases.atCommit(1, missing, "9.9", "bin/process.sh", "\"x\""));
    server.add(Leases.atCommit(2, good, "1.0", "bin/process.sh", "\"y\""));

    loop.tick();
    await().atMost(WAIT).until(() -> {
      loop.tick(); // the next claim carries the result
      return server.fails().size() == 1;
    });
    await().atMost(WAIT).until(() -> {
      loop.tick(); // the next claim carries the result
      return loop.isIdle();
    });
    loop.tick();
    await().atMost(WAIT).until(() -> server.completes().size() == 1);

    FailRequest f = server.fails().get(0);
    assertThat(f.batchId()).isEqualTo(1);
    assertThat(f.outcome()).isEqualTo(AttemptOutcome.FAILED);
    assertThat(f.commit()).isEqualTo(missing);
    assertThat(f.version()).isEqualTo("9.9");
    assertThat(f.exitCode()).isNull();
    assertThat(f.error()).startsWith("commit 0123456 is not on the server (fetched refs from " + remote.url() + ")")
        .doesNotContain("\n");
    assertThat(f.logTail()).startsWith("nightshift-agent: could not check out commit " + missing + " (version 9.9): ");
    assertThat(data.resolve("logs/attempts/1-1.log")).content().contains("could not check out commit " + missing);
    CompleteRequest c = server.completes().get(0);
    assertThat(c.batchId()).isEqualTo(2);
    assertThat(c.commit()).isEqualTo(good);
    assertThat(c.output()).isEqualTo("\"y\"@1.0\n");
  }

  @Test
  void aReleaseInAHeartbeatReplyIsCheckedOutBeforeAnyLeaseNamesIt() throws Exception {
    String v1 = release("1.0");
    AgentLoop loop = loop(1);
    server.promote(new CodeRelease(v1, "1.0"));

    loop.heartbeatOnce();
    await().atMost(WAIT).until(() -> checkouts.isReady(v1));
    assertThat(data.resolve("code/checkouts").resolve(v1).resolve("VERSION")).hasContent("1.0");
    assertThat(loop.heartbeatRequest().commit()).isEqualTo(v1);
    int fetches = repo.fetchCount();

    // the first batch after the promotion runs at once, without a fetch
    server.add(Leases.atCommit(1, v1, "1.0", "bin/process.sh", "\"x\""));
    loop.tick();
    await().atMost(WAIT).until(() -> {
      loop.tick(); // the next claim carries the result
      return server.completes().size() == 1;
    });
    assertThat(server.completes().get(0).output()).isEqualTo("\"x\"@1.0\n");
    assertThat(repo.fetchCount()).isEqualTo(fetches);

    String v2 = release("2.0"); // promoted next: the following heartbeat reports v1 until v2 is checked out
    server.promote(new CodeRelease(v2, "2.0"));
    loop.heartbeatOnce();
    await().atMost(WAIT).until(() -> checkouts.isReady(v2));
    await().atMost(WAIT).until(() -> v2.equals(loop.heartbeatRequest().commit()));
    loop.heartbeatOnce();
    assertThat(server.heartbeats().get(server.heartbeats().size() - 1).commit()).isEqualTo(v2);
  }

  @Test
  void aReleaseInAClaimAnswerIsCheckedOutWithoutWaitingForAHeartbeat() throws Exception {
    String v1 = release("1.0");
    AgentLoop loop = loop(1);
    server.promote(new CodeRelease(v1, "1.0"));
    loop.tick(); // no work, but the answer names the release (as a promotion answers parked claims)
    await().atMost(WAIT).until(() -> checkouts.isReady(v1));
    assertThat(server.heartbeats()).isEmpty();
  }

  private static CompleteRequest byBatch(List<CompleteRequest> all, long batchId) {
    return all.stream().filter(c -> c.batchId() == batchId).findFirst().orElseThrow();
  }
}
