package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.GitCli;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Code distribution for real: stock git pushes to the built server jar, promotions, rollbacks and pinned jobs run
 * by real agent processes that fetch and check out exactly the commit each lease names, and every result says
 * which version made it.
 */
class CodeEndToEndIT {
  @TempDir Path dir;

  static final String SCRIPT =
      "#!/bin/sh\n"
          + "version=$(head -n 1 VERSION)\n"
          + "while IFS= read -r item; do printf '{\"item\":%s,\"version\":\"%s\"}\\n' \"$item\" \"$version\"; done\n"
          + "sleep 0.2\n";

  @Test
  void promotionsRollbacksPinsAndAgentsThatWereAway() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(dir.resolve("server"), ServerProcess.fastLeases(), List.of("-Xmx384m"))) {
      Http admin = server.admin();
      Http.Response noCode = admin.post("/api/v1/jobs", job("too early", 4, null));
      assertThat(noCode.status()).isEqualTo(409);
      assertThat(noCode.detail()).isEqualTo("no code promoted yet: push to /git/code.git and promote");

      GitCli git = new GitCli(dir.resolve("home"));
      Path repo = Files.createDirectories(dir.resolve("repo"));
      git.ok(repo, "init", "-q");
      git.ok(repo, "remote", "add", "origin",
          "http://admin:" + Http.ADMIN_PASSWORD + "@127.0.0.1:" + server.port + "/git/code.git");
      String v1 = commit(git, repo, "1.0.0");
      git.ok(repo, "push", "-q", "origin", "HEAD:main");
      promote(admin, Map.of("ref", "main"));

      try (AgentProcess a = agent(server, "a");
          AgentProcess b = agent(server, "b")) {
        assertThat(versionsOf(admin, run(admin, job("v1", 40, null)))).containsExactly("1.0.0");

        String v2 = commit(git, repo, "2.0.0");
        git.ok(repo, "push", "-q", "origin", "HEAD:main");
        promote(admin, Map.of("ref", "main"));
        // 40 batches of at least 0.2 s over 2 + 2 slots: long enough that both agents, moving to the new release
        // (fetch, checkout), take part even on a loaded machine (with 20, one agent once did them all).
        long second = run(admin, job("v2", 80, null));
        assertThat(versionsOf(admin, second)).as("no batch by stale code").containsExactly("2.0.0");
        assertThat(workersOf(admin, second)).as("both agents ran the new code").hasSize(2);

        promote(admin, Map.of("commit", v1, "rollback", true));
        assertThat(versionsOf(admin, run(admin, job("rolled back", 20, null)))).containsExactly("1.0.0");

        long pinned = Jobs.submit(admin, job("pinned", 20, v2));
        String v3 = commit(git, repo, "3.0.0");
        git.ok(repo, "push", "-q", "origin", "HEAD:main");
        b.close(); // away during the next promotion
        promote(admin, Map.of("ref", "main"));
        await().atMost(Duration.ofSeconds(120)).until(() -> state(admin, pinned).equals("SUCCEEDED"));
        assertThat(versionsOf(admin, pinned)).as("a pinned job keeps its commit").containsExactly("2.0.0");

        a.close();
        try (AgentProcess back = agent(server, "b")) { // the same data dir: it has v1 and v2, not v3
          long caughtUp = run(admin, job("caught up", 20, null));
          assertThat(versionsOf(admin, caughtUp)).containsExactly("3.0.0");
          assertThat(workersOf(admin, caughtUp)).hasSize(1);
        }

        // A commit that is in the repository at submission, but that no branch reaches when an agent wants it.
        String orphan = commit(git, repo, "9.9.9");
        git.ok(repo, "push", "-q", "origin", "HEAD:refs/heads/tmp");
        Map<String, Object> doomed = job("unfetchable", 4, orphan);
        doomed.put("maxAttempts", 1);
        long lost = Jobs.submit(admin, doomed);
        git.ok(repo, "push", "-q", "origin", ":refs/heads/tmp");
        try (AgentProcess again = agent(server, "b")) {
          await().atMost(Duration.ofSeconds(120)).until(() -> state(admin, lost).equals("FAILED"));
          JsonNode batch = admin.get("/api/v1/jobs/" + lost + "/batches").json().get("items").get(0);
          JsonNode attempt =
              admin.get("/api/v1/batches/" + batch.get("id").asLong()).json().get("attemptHistory").get(0);
          assertThat(attempt.get("outcome").asString()).isEqualTo("FAILED");
          assertThat(attempt.get("error").asString()).contains(orphan.substring(0, 7));
          // ...and the agent keeps working on other commits.
          assertThat(versionsOf(admin, run(admin, job("still working", 8, null)))).containsExactly("3.0.0");
          assertThat(v3).isNotEqualTo(v2);
        }
      }
    }
  }

  static AgentProcess agent(ServerProcess server, String name) throws Exception {
    return AgentProcess.start(
        "run", server.url(), server.dataDir.resolveSibling("agent-" + name), "agent-" + name + ".log",
        "--slots", "2", "--name", name);
  }

  static String commit(GitCli git, Path repo, String version) throws Exception {
    Files.writeString(repo.resolve("VERSION"), version + "\n");
    Files.writeString(repo.resolve("process.sh"), SCRIPT);
    git.ok(repo, "add", "-A");
    git.ok(repo, "commit", "-q", "-m", "version " + version);
    return git.ok(repo, "rev-parse", "HEAD").strip();
  }

  static void promote(Http admin, Map<String, Object> body) {
    Http.Response r = admin.post("/api/v1/code/promotions", body);
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
  }

  static Map<String, Object> job(String name, int items, String commit) {
    Map<String, Object> job = new HashMap<>();
    job.put("name", name);
    job.put("command", "sh process.sh");
    job.put("batchSize", 2);
    job.put("items", IntStream.range(0, items).boxed().toList());
    job.put("timeoutSeconds", 60);
    if (commit != null) {
      job.put("commit", commit);
    }
    return job;
  }

  static String state(Http admin, long id) {
    return Jobs.get(admin, id).get("state").asString();
  }

  static long run(Http admin, Map<String, Object> job) {
    long id = Jobs.submit(admin, job);
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300))
        .until(() -> state(admin, id).equals("SUCCEEDED"));
    return id;
  }

  /** The versions on the job's result lines (one line per item). */
  static Set<String> versionsOf(Http admin, long id) {
    Set<String> versions = new HashSet<>();
    String results = admin.get("/api/v1/jobs/" + id + "/results").body();
    results.lines().forEach(line -> versions.add(Http.JSON.readTree(line).get("version").asString()));
    assertThat(results.lines().count()).isEqualTo(Jobs.get(admin, id).get("itemCount").asLong());
    return versions;
  }

  static Set<String> workersOf(Http admin, long id) {
    Set<String> workers = new HashSet<>();
    for (JsonNode b : admin.get("/api/v1/jobs/" + id + "/batches?limit=1000").json().get("items")) {
      workers.add(b.get("workerId").asString());
    }
    return workers;
  }
}
