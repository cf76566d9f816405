package dev.nightshift.server.code;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.server.system.NightshiftProperties;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.revwalk.RevCommit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The upstream mirror with real repositories: branches and tags follow the upstream; worker stays ours. */
class UpstreamMirrorTest {
  @TempDir Path dir;

  static NightshiftProperties properties(Path dataDir, String upstream) {
    return new NightshiftProperties(
        dataDir, null, null, null, null, null, null,
        new NightshiftProperties.Code(upstream, null, null, java.time.Duration.ofMinutes(1)),
        null);
  }

  @Test
  void branchesAndTagsFollowTheUpstreamAndTheWorkerBranchStaysOurs() throws Exception {
    Path upstreamDir = dir.resolve("upstream");
    try (Git upstream = Git.init().setDirectory(upstreamDir.toFile()).setInitialBranch("main").call();
        CodeRepository code =
            new CodeRepository(properties(dir.resolve("server"), upstreamDir.toUri().toString()))) {
      Files.writeString(upstreamDir.resolve("VERSION"), "1.0\n");
      upstream.add().addFilepattern(".").call();
      RevCommit first = upstream.commit().setMessage("1.0").setAuthor("T", "t@x").call();
      upstream.branchCreate().setName("feature").call();
      upstream.tag().setName("v1").call();
      UpstreamMirror mirror = new UpstreamMirror(code, properties(dir, upstreamDir.toUri().toString()).code());

      assertThat(mirror.mirror().updated()).containsExactlyInAnyOrder("main", "feature");
      assertThat(code.resolveCommit("main")).contains(first.getId());
      assertThat(code.resolveCommit("v1")).contains(first.getId());
      code.moveWorker(first.getId(), false);

      Files.writeString(upstreamDir.resolve("VERSION"), "1.1\n");
      upstream.add().addFilepattern(".").call();
      RevCommit second = upstream.commit().setMessage("1.1").setAuthor("T", "t@x").call();
      upstream.branchDelete().setBranchNames("feature").setForce(true).call();
      UpstreamMirror.Result result = mirror.mirror();
      assertThat(result.updated()).containsExactly("main");
      assertThat(result.deleted()).containsExactly("feature");
      assertThat(code.resolveCommit("main")).contains(second.getId());
      assertThat(code.workerCommit()).contains(first.getId());
      assertThat(code.versionOf(second.getId())).isEqualTo("1.1");
      assertThat(mirror.mirror().updated()).as("nothing new").isEmpty();
    }
  }

  @Test
  void anUnreachableUpstreamIsReportedWithItsUrl() throws Exception {
    String missing = dir.resolve("does-not-exist").toUri().toString();
    try (CodeRepository code = new CodeRepository(properties(dir.resolve("server"), missing))) {
      UpstreamMirror mirror = new UpstreamMirror(code, properties(dir, missing).code());
      assertThatThrownBy(mirror::mirror).hasMessageContaining("could not mirror " + missing);
      assertThat(code.resolveCommit("main")).isEmpty();
      assertThat(code.workerCommit()).isEqualTo(java.util.Optional.<ObjectId>empty());
    }
  }

  @Test
  void upstreamCredentialsAreNeverInMessages() throws Exception {
    // tries: user:token@ in an unreachable https upstream; the masking of text holding such URLs
    String withCredentials = "http://bob:s3cret-token@127.0.0.1:9/team/code.git";
    try (CodeRepository code = new CodeRepository(properties(dir.resolve("server2"), withCredentials))) {
      UpstreamMirror mirror = new UpstreamMirror(code, properties(dir, withCredentials).code());
      assertThatThrownBy(mirror::mirror)
          .hasMessageContaining("could not mirror http://***@127.0.0.1:9/team/code.git")
          .hasMessageNotContaining("s3cret-token")
          .hasNoCause();
    }
    assertThat(UpstreamMirror.masked("fetch https://x:y@git.example/a.git and ssh://git@h/b failed"))
        .isEqualTo("fetch https://***@git.example/a.git and ssh://***@h/b failed");
  }
}
