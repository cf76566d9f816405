package dev.nightshift.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.agent.testing.GitRemote;
import dev.nightshift.agent.testing.GitRemote.Exec;
import dev.nightshift.agent.testing.GitRemote.Link;
import dev.nightshift.agent.testing.GitRemote.Submodule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The checkout cache against a real bare repository served as a {@code file://} remote. */
class CheckoutsTest {
  @TempDir Path tmp;
  private GitRemote remote;
  private CodeRepository repo;
  private final List<Checkouts.Handle> handles = new ArrayList<>();
  private final ExecutorService pool = Executors.newFixedThreadPool(8);

  @BeforeEach
  void setUp() throws Exception {
    remote = GitRemote.create(tmp.resolve("remote.git"));
    repo = new CodeRepository(tmp.resolve("code/repo.git"), remote.url(), () -> null, Duration.ofSeconds(10));
  }

  @AfterEach
  void tearDown() {
    handles.forEach(Checkouts.Handle::close);
    pool.shutdownNow();
    repo.close();
    remote.close();
  }

  private Checkouts checkouts(int capacity) {
    return new Checkouts(repo, tmp.resolve("code/checkouts"), capacity, Clock.systemUTC());
  }

  private String commit(String version) throws Exception {
    return remote.commit("refs/heads/worker", Map.of("VERSION", version + "\n", "only-in-" + version, version));
  }

  private Checkouts.Handle acquire(Checkouts c, String commit) throws Exception {
    Checkouts.Handle h = c.acquire(commit);
    handles.add(h);
    return h;
  }

  private static List<String> files(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> !Files.isDirectory(p)).map(p -> dir.relativize(p).toString().replace('\\', '/')).sorted()
          .toList();
    }
  }

  @Test
  @DisabledOnOs(OS.WINDOWS)
  void writesFilesWithTheirExecutableBitAndSymlinksAndSkipsSubmodules() throws Exception {
    String c = remote.commit("refs/heads/worker", Map.of(
        "VERSION", "1.0\n",
        "bin/run.sh", new Exec("#!/bin/sh\necho hi\n"),
        "lib/deep/data.txt", "data",
        "current", new Link("lib/deep/data.txt"),
        "vendor/sub", new Submodule("0123456789abcdef0123456789abcdef01234567")));
    Checkouts checkouts = checkouts(4);

    Checkouts.Handle h = acquire(checkouts, c);

    Path dir = h.dir();
    assertThat(dir).isEqualTo(tmp.resolve("code/checkouts").resolve(c));
    assertThat(dir.resolve("VERSION")).hasContent("1.0");
    assertThat(dir.resolve("lib/deep/data.txt")).hasContent("data");
    assertThat(Files.getPosixFilePermissions(dir.resolve("bin/run.sh"))).contains(PosixFilePermission.OWNER_EXECUTE);
    assertThat(Files.getPosixFilePermissions(dir.resolve("VERSION"))).doesNotContain(PosixFilePermission.OWNER_EXECUTE);
    assertThat(Files.isSymbolicLink(dir.resolve("current"))).isTrue();
    assertThat(Files.readSymbolicLink(dir.resolve("current"))).isEqualTo(Path.of("lib/deep/data.txt"));
    assertThat(dir.resolve("vendor/sub")).isEmptyDirectory();
    assertThat(checkouts.isReady(c)).isTrue();
    assertThat(Files.list(tmp.resolve("code/checkouts")).map(p -> p.getFileName().toString())).containsExactly(c);
  }

  @Test
  void keepsAtMostCapacityCheckoutsEvictingTheLeastRecentlyUsed() throws Exception {
    String a = commit("a");
    String b = commit("b");
    String c = commit("c");
    Checkouts checkouts = checkouts(2);
    Path dir = tmp.resolve("code/checkouts");

    checkouts.prepare(a);
    checkouts.prepare(b);
    checkouts.acquire(a).close(); // a is now more recent than b
    checkouts.prepare(c);

    assertThat(checkouts.commits()).containsExactly(a, c);
    assertThat(dir.resolve(a)).isDirectory();
    assertThat(dir.resolve(b)).doesNotExist();
    assertThat(dir.resolve(c)).isDirectory();
    assertThat(Files.list(dir)).hasSize(2); // nothing half-deleted left behind
  }

  @Test
  void aPinnedCheckoutIsNeverEvicted() throws Exception {
    String a = commit("a");
    String b = commit("b");
    String c = commit("c");
    Checkouts checkouts = checkouts(1);
    Path dir = tmp.resolve("code/checkouts");

    Checkouts.Handle pinned = acquire(checkouts, a);
    checkouts.prepare(b);
    Checkouts.Handle other = acquire(checkouts, c);

    assertThat(pinned.dir()).isDirectory();
    assertThat(pinned.dir().resolve("only-in-a")).hasContent("a");
    assertThat(dir.resolve(b)).doesNotExist();
    assertThat(checkouts.commits()).containsExactly(a, c); // over capacity while both are in use

    other.close();
    assertThat(checkouts.commits()).containsExactly(a);
    pinned.close();
    checkouts.prepare(b);
    assertThat(checkouts.commits()).containsExactly(b);
    assertThat(dir.resolve(a)).doesNotExist();
  }

  @Test
  void concurrentAcquiresOfOneCommitWriteItOnce() throws Exception {
    String a = commit("a");
    Checkouts checkouts = checkouts(4);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Checkouts.Handle>> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      all.add(pool.submit(() -> {
        go.await();
        return checkouts.acquire(a);
      }));
    }
    go.countDown();
    for (Future<Checkouts.Handle> f : all) {
      Checkouts.Handle h = f.get(30, TimeUnit.SECONDS);
      handles.add(h);
      assertThat(h.dir().resolve("VERSION")).hasContent("a");
    }

    assertThat(checkouts.materializedCount()).isEqualTo(1);
    assertThat(repo.fetchCount()).isEqualTo(1);
  }

  @Test
  void differentCommitsInParallelSeeOnlyTheirOwnFiles() throws Exception {
    List<String> commits = new ArrayList<>();
    for (String v : List.of("a", "b", "c", "d")) {
      commits.add(commit(v));
    }
    Checkouts checkouts = checkouts(4);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<List<String>>> seen = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      for (String c : commits) {
        Callable<List<String>> run = () -> {
          go.await();
          try (Checkouts.Handle h = checkouts.acquire(c)) {
            return files(h.dir());
          }
        };
        seen.add(pool.submit(run));
      }
    }
    go.countDown();

    for (int i = 0; i < seen.size(); i++) {
      String v = List.of("a", "b", "c", "d").get(i % 4);
      assertThat(seen.get(i).get(30, TimeUnit.SECONDS)).containsExactly("VERSION", "only-in-" + v);
    }
    assertThat(checkouts.materializedCount()).isEqualTo(4);
  }

  @Test
  void aCommitThatCannotBeFetchedFailsAndIsNotKept() throws Exception {
    String a = commit("a");
    Checkouts checkouts = checkouts(4);
    String missing = "0123456789abcdef0123456789abcdef01234567";

    assertThatThrownBy(() -> checkouts.acquire(missing))
        .isInstanceOf(CodeUnavailableException.class)
        .hasMessageContaining("commit 0123456 is not on the server");

    assertThat(checkouts.commits()).isEmpty();
    assertThat(tmp.resolve("code/checkouts").resolve(missing)).doesNotExist();
    assertThat(acquire(checkouts, a).dir().resolve("VERSION")).hasContent("a");
  }

  @Test
  void checkoutsOfAPreviousRunAreKeptAndHalfWrittenOnesRemoved() throws Exception {
    String a = commit("a");
    checkouts(4).prepare(a);
    Path halfWritten = Files.createDirectories(tmp.resolve("code/checkouts/.tmp-" + a + "-x/lib"));
    CodeRepository.deleteTree(remote.dir()); // no server: a restart must not need one

    Checkouts restarted = checkouts(4);

    assertThat(restarted.isReady(a)).isTrue();
    assertThat(acquire(restarted, a).dir().resolve("VERSION")).hasContent("a");
    assertThat(halfWritten.getParent()).doesNotExist();
    assertThat(restarted.materializedCount()).isZero();
  }
}
