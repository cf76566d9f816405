package dev.nightshift.server.code;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.GitCli;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * Code over Git, against the real server: stock git pushes and clones with the right credentials only, promotions
 * record releases with versions, rollbacks must be asked for, and leases name exactly the code they run.
 */
@NightshiftTest
class CodeApiTest {
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired dev.nightshift.server.batches.ClaimDispatcher dispatcher;
  @TempDir Path dir;
  GitCli git;
  Http admin;

  @BeforeEach
  void setUp() throws Exception {
    Db.reset(jdbc);
    CodeFixture.ensureRelease(port);
    git = new GitCli(dir.resolve("home"));
    admin = Http.admin(port);
  }

  String url(String user, String password) {
    return "http://" + user + ":" + password + "@127.0.0.1:" + port + "/git/code.git";
  }

  String anonymousUrl() {
    return "http://127.0.0.1:" + port + "/git/code.git";
  }

  /** Clones the server's repository as admin with the stock git client. */
  Path cloneAsAdmin(String name) throws Exception {
    git.ok(dir, "clone", "-q", url("admin", Http.ADMIN_PASSWORD), name);
    return dir.resolve(name);
  }

  String commit(Path repo, String version, String file, String content) throws Exception {
    Files.writeString(repo.resolve("VERSION"), version + "\n", StandardCharsets.UTF_8);
    Files.writeString(repo.resolve(file), content, StandardCharsets.UTF_8);
    git.ok(repo, "add", "-A");
    git.ok(repo, "commit", "-q", "-m", "version " + version);
    return git.ok(repo, "rev-parse", "HEAD").strip();
  }

  @Autowired CodeRepository code;

  /**
   * Git's dumb HTTP is off: an object no branch reaches (a deleted secret) cannot be downloaded, neither by path nor
   * by asking for it in the smart protocol. Tried, as admin: HEAD, info/refs without a service, objects/info/packs,
   * objects/info/alternates, the loose object's path, a pack file's path; a smart want of the unreachable object.
   */
  @Test
  @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
  void unreachableObjectsCannotBeDownloadedAndDumbHttpIsOff(
      org.springframework.boot.test.system.CapturedOutput output) throws Exception {
    org.eclipse.jgit.lib.ObjectId secret;
    try (var inserter = code.repository().newObjectInserter()) {
      secret = inserter.insert(org.eclipse.jgit.lib.Constants.OBJ_BLOB,
          "password=deleted-secret\n".getBytes(StandardCharsets.UTF_8));
      inserter.flush();
    }
    String name = secret.name();
    for (String path : List.of("HEAD", "info/refs", "objects/info/packs", "objects/info/alternates",
        "objects/info/http-alternates", "objects/" + name.substring(0, 2) + "/" + name.substring(2),
        "objects/pack/pack-0123456789abcdef0123456789abcdef01234567.pack", "config", "description")) {
      Http.Response r = admin.get("/git/code.git/" + path);
      assertThat(r.status()).as(path + ": " + r).isEqualTo(404);
      assertThat(r.body()).doesNotContain("deleted-secret");
    }
    // the smart protocol still works, and refuses a want of what no ref reaches
    assertThat(admin.get("/git/code.git/info/refs?service=git-upload-pack").status()).isEqualTo(200);
    String want = "want " + name + "\n";
    String body = String.format("%04x", want.length() + 4) + want + "0000" + "0009done\n";
    Http.Response fetch = admin.post("/git/code.git/git-upload-pack", body, "application/x-git-upload-pack-request");
    assertThat(fetch.body()).as(fetch.toString()).contains("not valid").doesNotContain("PACK");
    // and with the stock git client (protocol v2), asking for the object by id
    Path clone = cloneAsAdmin("want-unreachable");
    GitCli.Result byId = git.run(clone, "fetch", "origin", name);
    assertThat(byId.exit()).as(byId.output()).isNotZero();
    assertThat(git.run(clone, "cat-file", "-e", name).exit()).as("not downloaded").isNotZero();
    // the refused want is one WARN line, not an ERROR with a stack trace
    assertThat(output.getAll()).contains("WARN").contains("refused a Git request from 127.0.0.1: want " + name)
        .doesNotContain("Git request failed");
  }

  /** Bad inputs tried: anonymous clone and push, a wrong password, an agent token pushing, a push to worker. */
  @Test
  void stockGitPushesAsAdminOnlyAndAgentsMayFetch() throws Exception {
    Path repo = cloneAsAdmin("work");
    commit(repo, "7.0.0", "feature.txt", "x\n");
    assertThat(git.run(repo, "push", "-q", "origin", "HEAD:refs/heads/feature").exit()).isZero();

    GitCli.Result anonymousClone = git.run(dir, "clone", "-q", anonymousUrl(), "anon");
    assertThat(anonymousClone.exit()).isNotZero();
    assertThat(anonymousClone.output()).contains("could not read Username"); // git was challenged for credentials
    Http.Response challenge = Http.anonymous(port).get("/git/code.git/info/refs?service=git-upload-pack");
    assertThat(challenge.status()).isEqualTo(401);
    assertThat(challenge.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> v.startsWith("Basic"));
    GitCli.Result anonymousPush = git.run(repo, "push", anonymousUrl(), "HEAD:refs/heads/anon");
    assertThat(anonymousPush.exit()).isNotZero();
    GitCli.Result wrongPassword = git.run(repo, "push", url("admin", "wrong"), "HEAD:refs/heads/wrong");
    assertThat(wrongPassword.exit()).isNotZero();

    TestAgent agent = TestAgent.enroll(port, "fetcher", 1, Map.of());
    assertThat(git.run(dir, "clone", "-q", url("agent", agent.token), "as-agent").exit()).isZero();
    assertThat(dir.resolve("as-agent/feature.txt")).doesNotExist(); // main, not the feature branch
    GitCli.Result agentPush = git.run(repo, "push", url("agent", agent.token), "HEAD:refs/heads/sneaky");
    assertThat(agentPush.exit()).isNotZero();
    assertThat(agentPush.output()).contains("403");

    GitCli.Result toWorker = git.run(repo, "push", "origin", "HEAD:refs/heads/worker", "--force");
    assertThat(toWorker.exit()).isNotZero();
    assertThat(toWorker.output()).contains("moves only by promotion");
    assertThat(git.ok(repo, "ls-remote", "origin")).contains("refs/heads/feature").doesNotContain("sneaky");
  }

  /** Bad inputs tried: an unknown ref, both ref and commit, neither, a non-fast-forward without rollback, a repeat. */
  @Test
  void promotionsRecordReleasesAndRollbackMustBeAskedFor() throws Exception {
    Path repo = cloneAsAdmin("promote");
    String v2 = commit(repo, "2.0.0", "a.txt", "2\n");
    git.ok(repo, "push", "-q", "origin", "HEAD:main");
    JsonNode release = admin.post("/api/v1/code/promotions", Map.of("ref", "main")).json();
    assertThat(release.get("commit").asString()).isEqualTo(v2);
    assertThat(release.get("version").asString()).isEqualTo("2.0.0");
    assertThat(release.get("promotedBy").asString()).isEqualTo("admin");
    assertThat(release.get("rollback").asBoolean()).isFalse();

    String v21 = commit(repo, "2.1.0", "a.txt", "21\n");
    git.ok(repo, "push", "-q", "origin", "HEAD:main");
    Http.Response byCommit = admin.post("/api/v1/code/promotions", Map.of("commit", v21.substring(0, 10)));
    assertThat(byCommit.status()).as(byCommit.toString()).isEqualTo(201);
    assertThat(git.ok(repo, "ls-remote", "origin", "refs/heads/worker")).startsWith(v21);

    Http.Response back = admin.post("/api/v1/code/promotions", Map.of("commit", v2));
    assertThat(back.status()).isEqualTo(409);
    assertThat(back.detail()).contains("not a fast-forward").contains("\"rollback\": true");
    JsonNode rolledBack =
        admin.post("/api/v1/code/promotions", Map.of("commit", v2, "rollback", true)).json();
    assertThat(rolledBack.get("rollback").asBoolean()).isTrue();
    assertThat(rolledBack.get("previousCommit").asString()).isEqualTo(v21);
    assertThat(admin.post("/api/v1/code/promotions", Map.of("commit", v2)).detail())
        .contains("already the current release");

    JsonNode code = admin.get("/api/v1/code").json();
    assertThat(code.get("current").get("commit").asString()).isEqualTo(v2);
    assertThat(code.get("history").get(1).get("version").asString()).isEqualTo("2.1.0");

    assertThat(admin.post("/api/v1/code/promotions", Map.of("ref", "nope")).status()).isEqualTo(404);
    assertThat(admin.post("/api/v1/code/promotions", Map.of("ref", "main", "commit", v2)).status()).isEqualTo(400);
    assertThat(admin.post("/api/v1/code/promotions", Map.of()).detail()).contains("either \"ref\"");
    assertThat(Http.anonymous(port).post("/api/v1/code/promotions", Map.of("ref", "main")).status())
        .isEqualTo(401);

    // Without a VERSION file the version is git describe --tags --always.
    Files.delete(repo.resolve("VERSION"));
    git.ok(repo, "add", "-A");
    git.ok(repo, "commit", "-q", "-m", "no version file");
    git.ok(repo, "tag", "v9");
    git.ok(repo, "push", "-q", "origin", "HEAD:main", "v9");
    assertThat(admin.post("/api/v1/code/promotions", Map.of("ref", "main")).json().get("version").asString())
        .isEqualTo("v9");
  }

  @Test
  void aPromotionAnswersParkedClaimsAtOnceWithTheNewRelease() throws Exception {
    TestAgent agent = TestAgent.enroll(port, "idle", 1, Map.of());
    var parked =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () ->
                Http.JSON.readValue(
                    agent.http
                        .post(
                            dev.nightshift.protocol.AgentPaths.CLAIM,
                            new dev.nightshift.protocol.ClaimRequest(1, 25_000))
                        .body(),
                    dev.nightshift.protocol.ClaimResponse.class));
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(() -> dispatcher.waiting() == 1);
    Path repo = cloneAsAdmin("parked");
    String next = commit(repo, "4.0.0", "p.txt", "p\n");
    git.ok(repo, "push", "-q", "origin", "HEAD:main");
    admin.post("/api/v1/code/promotions", Map.of("ref", "main"));
    var answer = parked.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(answer.leases()).isEmpty();
    assertThat(answer.release().commit()).isEqualTo(next);
    assertThat(answer.release().version()).isEqualTo("4.0.0");
  }

  @Test
  void leasesRunTheReleaseCurrentAtClaimTimeOrTheJobsPinnedCommitAndReportsMustMatch() throws Exception {
    Path repo = cloneAsAdmin("leases");
    String a = commit(repo, "3.0.0", "a.txt", "a\n");
    git.ok(repo, "push", "-q", "origin", "HEAD:main");
    admin.post("/api/v1/code/promotions", Map.of("ref", "main"));
    long floating = Jobs.submit(admin, Jobs.range("floating", "cat VERSION", 2, 1));
    var pinnedJob = Jobs.range("pinned", "cat VERSION", 1, 1);
    pinnedJob.put("commit", a.substring(0, 12));
    long pinned = Jobs.submit(admin, pinnedJob);
    assertThat(Jobs.get(admin, pinned).get("commit").asString()).isEqualTo(a);

    String b = commit(repo, "3.1.0", "a.txt", "b\n");
    git.ok(repo, "push", "-q", "origin", "HEAD:main");
    admin.post("/api/v1/code/promotions", Map.of("ref", "main"));

    TestAgent agent = TestAgent.enroll(port, "runner", 8, Map.of());
    assertThat(agent.heartbeat(List.of()).release().commit()).isEqualTo(b);
    List<Lease> leases = agent.claim(8, 0);
    assertThat(leases).hasSize(3);
    for (Lease lease : leases) {
      boolean isPinned = lease.jobId() == pinned;
      assertThat(lease.commit()).isEqualTo(isPinned ? a : b);
      assertThat(lease.version()).isEqualTo(isPinned ? "3.0.0" : "3.1.0");
    }
    Lease first = leases.stream().filter(l -> l.jobId() == floating).findFirst().orElseThrow();
    // A report produced by other code than the lease named is refused: no batch counts as done by stale code.
    Http.Response stale =
        agent.http.post(
            dev.nightshift.protocol.AgentPaths.COMPLETE,
            new dev.nightshift.protocol.CompleteRequest(
                first.batchId(), first.leaseToken(), a, "3.0.0", 0, null, null, "3.0.0\n", ""));
    assertThat(stale.status()).isEqualTo(409);
    assertThat(stale.detail()).contains("never accepted");
    for (Lease lease : leases) {
      assertThat(agent.complete(lease, lease.version() + "\n").status()).isEqualTo(200);
    }
    JsonNode job = Jobs.get(admin, floating);
    assertThat(job.get("versions")).hasSize(1);
    assertThat(job.get("versions").get(0).get("version").asString()).isEqualTo("3.1.0");
    assertThat(job.get("versions").get(0).get("batches").asInt()).isEqualTo(2);
    JsonNode attempt =
        admin.get("/api/v1/batches/" + first.batchId()).json().get("attemptHistory").get(0);
    assertThat(attempt.get("commit").asString()).isEqualTo(b);
    assertThat(attempt.get("version").asString()).isEqualTo("3.1.0");

    var unknown = Jobs.range("unknown", "true", 1, 1);
    unknown.put("commit", "deadbeefdeadbeef");
    Http.Response refused = admin.post("/api/v1/jobs", unknown);
    assertThat(refused.status()).isEqualTo(400);
    assertThat(refused.detail()).contains("not in /git/code.git");
  }
}
