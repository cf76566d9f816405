package dev.nightshift.server.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.code.GitTraffic;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Bytes an agent transfers for a one-line change in a repository with more than 20 MB of history, against a fresh
 * clone. Not part of the build; run with
 * {@code ./mvnw -pl control-server -am test -Dtest=CodeTransferBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 * The client fetches as an agent does (JGit, agent token, {@code +refs/heads/*:refs/remotes/origin/*}); the
 * figures are the pack bytes the server sent.
 */
@NightshiftTest
class CodeTransferBenchmark {
  @LocalServerPort int port;
  @Autowired GitTraffic traffic;
  @TempDir Path dir;

  @Test
  void oneLineChangeVersusFreshClone() throws Exception {
    CodeFixture.ensureRelease(port);
    TestAgent agent = TestAgent.enroll(port, "bench", 1, Map.of());
    var agentLogin = new UsernamePasswordCredentialsProvider("agent", agent.token);
    var adminLogin = new UsernamePasswordCredentialsProvider("admin", dev.nightshift.server.testing.Http.ADMIN_PASSWORD);
    String url = "http://127.0.0.1:" + port + "/git/code.git";

    // History: 100 commits, each adding 256 KB of incompressible data (about 25 MB), plus a small script.
    Path work = dir.resolve("work");
    Random random = new Random(42);
    try (Git git = Git.init().setDirectory(work.toFile()).setInitialBranch("main").call()) {
      Files.writeString(work.resolve("process.sh"), "#!/bin/sh\ncat\n");
      for (int i = 0; i < 100; i++) {
        byte[] blob = new byte[256 * 1024];
        random.nextBytes(blob);
        Files.write(work.resolve("data-" + i + ".bin"), blob);
        git.add().addFilepattern(".").call();
        git.commit().setMessage("data " + i).setAuthor("B", "b@x").call();
      }
      git.push().setRemote(url).setRefSpecs(new RefSpec("+refs/heads/main:refs/heads/main"))
          .setCredentialsProvider(adminLogin).call();

      long before = traffic.bytesServed();
      long t0 = System.nanoTime();
      Path clone = dir.resolve("agent.git");
      try (Git agentRepo =
          Git.cloneRepository().setURI(url).setDirectory(clone.toFile()).setBare(true)
              .setCredentialsProvider(agentLogin).call()) {
        long cloneMillis = (System.nanoTime() - t0) / 1_000_000;
        long cloneBytes = traffic.bytesServed() - before;

        Files.writeString(work.resolve("process.sh"), "#!/bin/sh\n# one more line\ncat\n");
        git.add().addFilepattern(".").call();
        git.commit().setMessage("one-line change").setAuthor("B", "b@x").call();
        git.push().setRemote(url).setRefSpecs(new RefSpec("+refs/heads/main:refs/heads/main"))
            .setCredentialsProvider(adminLogin).call();

        long before2 = traffic.bytesServed();
        long t1 = System.nanoTime();
        agentRepo.fetch().setRemote(url).setRefSpecs(new RefSpec("+refs/heads/*:refs/remotes/origin/*"))
            .setCredentialsProvider(agentLogin).call();
        long fetchMillis = (System.nanoTime() - t1) / 1_000_000;
        long fetchBytes = traffic.bytesServed() - before2;

        System.out.printf(
            "%nCODE TRANSFER (repository history %.1f MB)%n"
                + "  fresh clone        %,12d bytes  %6d ms%n"
                + "  one-line change    %,12d bytes  %6d ms%n"
                + "  ratio              %,12.0f x fewer bytes%n%n",
            cloneBytes / 1e6, cloneBytes, cloneMillis, fetchBytes, fetchMillis, (double) cloneBytes / fetchBytes);
        assertThat(cloneBytes).isGreaterThan(20_000_000);
        assertThat(fetchBytes).isLessThan(10_000);
      }
    }
  }
}
