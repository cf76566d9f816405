package dev.nightshift.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.nightshift.agent.testing.GitRemote;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local clone against a real bare repository served as a {@code file://} remote. */
class CodeRepositoryTest {
  @TempDir Path tmp;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private GitRemote remote() throws Exception {
    GitRemote r = GitRemote.create(tmp.resolve("remote.git"));
    closing.add(r);
    return r;
  }

  private CodeRepository local(String url) {
    CodeRepository c = new CodeRepository(tmp.resolve("data/code/repo.git"), url, () -> "agent-token",
        Duration.ofSeconds(10));
    closing.add(c);
    return c;
  }

  @Test
  void fetchesAMissingCommitThenOnlyTheNewObjectsOfTheNext() throws Exception {
    GitRemote remote = remote();
    String a = remote.commit("refs/heads/worker", Map.of("VERSION", "1.0\n", "lib/big.txt", "x".repeat(10_000),
        "run.sh", "echo a\n"));
    CodeRepository local = local(remote.url());
    Path git = tmp.resolve("data/code/repo.git");

    local.ensure(a);
    assertThat(local.has(a)).isTrue();
    assertThat(local.fetchCount()).isEqualTo(1);
    Set<String> afterFirst = GitRemote.objectIds(git);
    assertThat(afterFirst).hasSize(6); // commit, 2 trees, 3 blobs

    String b = remote.commit("refs/heads/worker", Map.of("VERSION", "1.1\n", "lib/big.txt", "x".repeat(10_000),
        "run.sh", "echo a\n"));
    local.ensure(b);

    assertThat(local.fetchCount()).isEqualTo(2);
    Set<String> gained = new HashSet<>(GitRemote.objectIds(git));
    gained.removeAll(afterFirst);
    assertThat(gained).as("only the new commit, its root tree and the new VERSION blob").hasSize(3).contains(b);
    assertThat(GitRemote.packIndexes(git)).as("one more small pack, not a second clone").hasSize(2);
  }

  @Test
  void aCommitAlreadyHereNeedsNoServerAtAll() throws Exception {
    GitRemote remote = remote();
    String a = remote.commit("refs/heads/worker", Map.of("VERSION", "1.0\n"));
    CodeRepository local = local(remote.url());
    local.ensure(a);
    CodeRepository.deleteTree(remote.dir()); // the server is gone

    local.ensure(a);
    local.ensure(a.toUpperCase());

    assertThat(local.fetchCount()).isEqualTo(1);
  }

  @Test
  void anUnknownCommitIsUnavailableWithAMessageNamingItAndTheServer() throws Exception {
    GitRemote remote = remote();
    remote.commit("refs/heads/worker", Map.of("VERSION", "1.0\n"));
    CodeRepository local = local(remote.url());
    String missing = "0123456789abcdef0123456789abcdef01234567";

    assertThatThrownBy(() -> local.ensure(missing))
        .isInstanceOf(CodeUnavailableException.class)
        .hasMessageStartingWith("commit 0123456 is not on the server (fetched refs from " + remote.url() + ")")
        .hasMessageContaining("was it pushed?")
        .satisfies(e -> assertThat(((CodeUnavailableException) e).isTransient()).as("asking again cannot help").isFalse());
    assertThatThrownBy(() -> local.ensure("main"))
        .isInstanceOf(CodeUnavailableException.class)
        .hasMessage("'main' is not a full commit id (40 hex digits)");
  }

  @Test
  void aCommitOnNoBranchIsFetchedByIdWhenTheServerAllowsIt() throws Exception {
    GitRemote remote = remote();
    remote.commit("refs/heads/worker", Map.of("VERSION", "2.0\n"));
    String pinned = remote.commit("refs/pinned/old", Map.of("VERSION", "0.9\n"));
    CodeRepository local = local(remote.url());

    local.ensure(pinned);

    assertThat(local.has(pinned)).isTrue();
    assertThat(local.fetchCount()).isEqualTo(2); // branches first, then the commit itself
  }

  @Test
  void anUnreachableServerIsUnavailableWithAMessageNamingTheUrl() throws Exception {
    String gone = tmp.resolve("no-such-remote.git").toUri().toString();
    assertThatThrownBy(() -> local(gone).ensure("0123456789abcdef0123456789abcdef01234567"))
        .isInstanceOf(CodeUnavailableException.class)
        .hasMessageStartingWith("could not fetch from " + gone + ": ");

    String closedPort = "http://127.0.0.1:9/git/code.git";
    assertThatThrownBy(() -> new CodeRepository(tmp.resolve("other.git"), closedPort, () -> "t", Duration.ofSeconds(5))
            .ensure("0123456789abcdef0123456789abcdef01234567"))
        .isInstanceOf(CodeUnavailableException.class)
        .hasMessageStartingWith("could not fetch from " + closedPort + ": ")
        .satisfies(e -> assertThat(((CodeUnavailableException) e).isTransient()).as("a server down or restarting").isTrue());
  }

  @Test
  void aWorkspaceRetriesAFetchThatFailedForWantOfTheServerButNotAMissingCommit() throws Exception {
    String closedPort = "http://127.0.0.1:9/git/code.git";
    String commit = "0123456789abcdef0123456789abcdef01234567";
    CodeRepository down = new CodeRepository(tmp.resolve("down.git"), closedPort, () -> "t", Duration.ofSeconds(5));
    closing.add(down::close);
    GitWorkspace retrying =
        new GitWorkspace(new Checkouts(down, tmp.resolve("down-checkouts"), 2, java.time.Clock.systemUTC()),
            Duration.ofSeconds(3));
    assertThatThrownBy(() -> retrying.workspaceFor(dev.nightshift.agent.testing.Leases.atCommit(1, commit, "1", "x", "1")))
        .hasMessageContaining("could not fetch from " + closedPort);
    assertThat(down.fetchCount()).as("tried, then again after 0.5 s (and 1 s, if time is left)").isGreaterThanOrEqualTo(2);

    GitRemote remote = remote();
    remote.commit("refs/heads/worker", Map.of("VERSION", "1.0\n"));
    CodeRepository up = local(remote.url());
    GitWorkspace notRetrying =
        new GitWorkspace(new Checkouts(up, tmp.resolve("up-checkouts"), 2, java.time.Clock.systemUTC()),
            Duration.ofSeconds(30));
    assertThatThrownBy(() -> notRetrying.workspaceFor(dev.nightshift.agent.testing.Leases.atCommit(1, commit, "1", "x", "1")))
        .hasMessageContaining("is not on the server");
    assertThat(up.fetchCount()).as("branches, then the commit by id; no retry").isEqualTo(2);
  }

  @Test
  void aRefusedAgentTokenAsksWhetherItWasRevoked() throws Exception {
    List<String> authorizations = new CopyOnWriteArrayList<>();
    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/", ex -> {
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      if (auth != null) {
        authorizations.add(auth);
      }
      ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"nightshift\"");
      ex.sendResponseHeaders(401, -1);
      ex.close();
    });
    http.start();
    closing.add(() -> http.stop(0));
    String url = "http://127.0.0.1:" + http.getAddress().getPort() + "/git/code.git";

    assertThatThrownBy(() -> local(url).ensure("0123456789abcdef0123456789abcdef01234567"))
        .isInstanceOf(CodeUnavailableException.class)
        .hasMessageStartingWith("could not fetch from " + url + ": ")
        .hasMessageEndingWith("is the agent token revoked?");
    String basic = "Basic " + Base64.getEncoder().encodeToString("agent:agent-token".getBytes(StandardCharsets.UTF_8));
    assertThat(authorizations).contains(basic);
  }

  @Test
  void concurrentEnsuresOfOneCommitFetchOnce() throws Exception {
    GitRemote remote = remote();
    String a = remote.commit("refs/heads/worker", Map.of("VERSION", "1.0\n"));
    CodeRepository local = local(remote.url());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> all = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        all.add(pool.submit(() -> {
          go.await();
          local.ensure(a);
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : all) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(local.fetchCount()).isEqualTo(1);
  }
}
