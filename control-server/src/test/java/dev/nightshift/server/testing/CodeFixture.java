package dev.nightshift.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;

/** Processing code for tests: commits pushed to a running server over real Git HTTP, and promoted. */
public final class CodeFixture implements AutoCloseable {
  private final Path work;
  private final Git git;
  private final int port;

  private CodeFixture(Path work, Git git, int port) {
    this.work = work;
    this.git = git;
    this.port = port;
  }

  /** A local clone-to-be of the server's repository, on branch main. */
  public static CodeFixture open(int port) throws IOException, GitAPIException {
    Path work = Files.createTempDirectory("nightshift-code-");
    Git git = Git.init().setDirectory(work.toFile()).setInitialBranch("main").call();
    return new CodeFixture(work, git, port);
  }

  /** Makes sure some release exists, so jobs can be submitted (tests that do not care about code). */
  public static void ensureRelease(int port) {
    Http admin = Http.admin(port);
    if (!admin.get("/api/v1/code").json().path("current").isNull()) {
      return;
    }
    try (CodeFixture code = open(port)) {
      code.commit("1.0.0", Map.of("README", "test code\n"));
      code.push("main");
      code.promote("main");
    } catch (IOException | GitAPIException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Commits these files (paths ending in .sh become executable) with VERSION set to {@code version}. */
  public String commit(String version, Map<String, String> files) throws IOException, GitAPIException {
    Files.writeString(work.resolve("VERSION"), version + "\n", StandardCharsets.UTF_8);
    for (var file : files.entrySet()) {
      Path path = work.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue(), StandardCharsets.UTF_8);
      if (file.getKey().endsWith(".sh")) {
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    }
    git.add().addFilepattern(".").call();
    RevCommit commit =
        git.commit().setMessage("version " + version).setAuthor("Test", "test@example.com").call();
    return commit.name();
  }

  /** Pushes the local main to a branch of the server's repository as admin. */
  public void push(String branch) throws GitAPIException {
    git.push()
        .setRemote(url())
        .setRefSpecs(new RefSpec("refs/heads/main:refs/heads/" + branch))
        .setForce(true)
        .setCredentialsProvider(new UsernamePasswordCredentialsProvider("admin", Http.ADMIN_PASSWORD))
        .call();
  }

  public String url() {
    return "http://127.0.0.1:" + port + "/git/code.git";
  }

  public Path workTree() {
    return work;
  }

  /** Promotes a ref or commit; returns the release. */
  public tools.jackson.databind.JsonNode promote(String ref) {
    Http.Response r = Http.admin(port).post("/api/v1/code/promotions", Map.of("ref", ref));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json();
  }

  @Override
  public void close() {
    git.close();
    try (var walk = Files.walk(work)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // temp files; best effort
    }
  }
}
