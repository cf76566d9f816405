package dev.nightshift.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.agent.testing.GitRemote;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Background checkout of promoted releases. */
class PrefetcherTest {
  @TempDir Path tmp;

  @Test
  void aReleaseOfferedWhileAnotherIsBeingFetchedIsCheckedOutRightAfterIt() throws Exception {
    try (GitRemote remote = GitRemote.create(tmp.resolve("remote.git"));
        CodeRepository repo =
            new CodeRepository(tmp.resolve("code/repo.git"), remote.url(), () -> null, Duration.ofSeconds(10))) {
      Checkouts checkouts = new Checkouts(repo, tmp.resolve("code/checkouts"), 4, Clock.systemUTC());
      String v1 = remote.commit("refs/heads/worker", Map.of("VERSION", "1\n", "big", "x".repeat(1 << 20)));
      String v2 = remote.commit("refs/heads/worker", Map.of("VERSION", "2\n"));
      Prefetcher prefetcher = new Prefetcher(checkouts);
      try {
        prefetcher.offer(v1, "1");
        prefetcher.offer(v2, "2"); // arrives while v1 is (most likely) still being fetched: must not be dropped
        await().atMost(Duration.ofSeconds(20)).until(() -> checkouts.isReady(v2));
        await().atMost(Duration.ofSeconds(5)).until(() -> v2.equals(prefetcher.currentCommit()));
      } finally {
        prefetcher.shutdown();
      }
      assertThat(checkouts.isReady(v2)).isTrue();
    }
  }
}
