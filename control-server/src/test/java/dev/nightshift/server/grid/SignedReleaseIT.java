package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.nightshift.server.testing.AgentProcess;
import dev.nightshift.server.testing.DashboardPages;
import dev.nightshift.server.testing.GitCli;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.ServerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Signed releases for real (issue 11): keys made by ssh-keygen, commits signed by stock git ({@code gpg.format=ssh}),
 * pushed to the built server jar and run by real agent processes that trust one key and do NOT allow unsigned code.
 * A signed release's entry point runs with its arguments and no shell; a raw command, an unsigned release, one
 * signed by another key and a signed commit changed afterwards are each refused: the batch DEAD at once (no retry),
 * the job FAILED, the reason in the API and on the dashboard; re-promoting a trusted release recovers.
 */
class SignedReleaseIT {
  @TempDir Path dir;

  static final String SCRIPT =
      "#!/bin/sh\n"
          + "version=$(head -n 1 VERSION)\n"
          + "while IFS= read -r item; do printf '{\"item\":%s,\"version\":\"%s\",\"arg\":\"%s\"}\\n'"
          + " \"$item\" \"$version\" \"$1\"; done\n";
  static final String MANIFEST =
      "{\"entryPoints\": {\"process\": {\"command\": [\"sh\", \"process.sh\"], \"description\": \"one line per item\"}}}\n";

  @Test
  void onlyReleasesSignedByATrustedKeyRunAndOnlyTheirEntryPoints() throws Exception {
    try (ServerProcess server =
        ServerProcess.start(dir.resolve("server"), ServerProcess.fastLeases(), List.of("-Xmx384m"))) {
      Http admin = server.admin();
      GitCli git = new GitCli(dir.resolve("home"));
      Path keys = Files.createDirectories(dir.resolve("keys"));
      Path release = key(git, keys, "release");
      Path intruder = key(git, keys, "intruder");
      Path repo = Files.createDirectories(dir.resolve("repo"));
      git.ok(repo, "init", "-q");
      git.ok(repo, "remote", "add", "origin",
          "http://admin:" + Http.ADMIN_PASSWORD + "@127.0.0.1:" + server.port + "/git/code.git");

      String v1 = commit(git, repo, "1.0.0", release);
      publish(git, repo, admin, "main");

      String keyLine = Files.readString(Path.of(release + ".pub")).strip();
      try (AgentProcess a = agent(server, "a", keyLine); // the key itself
          AgentProcess b = agent(server, "b", release + ".pub")) { // a file of keys
        // a signed release: its entry point runs, the arguments passed as they are (no shell splits or expands)
        long ok = run(admin, entryJob("signed", 8, List.of("two words; $HOME")));
        String results = admin.get("/api/v1/jobs/" + ok + "/results").body();
        assertThat(results.lines()).hasSize(8)
            .allSatisfy(l -> assertThat(l).contains("\"version\":\"1.0.0\"", "\"arg\":\"two words; $HOME\""));
        assertThat(Jobs.get(admin, ok).get("entryPoint").asString()).isEqualTo("process");

        // the same signed release, but a raw command: refused
        Map<String, Object> raw = entryJob("raw", 4, null);
        raw.remove("entryPoint");
        raw.put("command", "sh process.sh");
        refused(admin, raw, "RAW_COMMAND_REFUSED");

        // an unsigned release
        commit(git, repo, "2.0.0", null);
        publish(git, repo, admin, "main");
        long unsigned = refused(admin, entryJob("unsigned", 4, List.of()), "UNSIGNED_RELEASE");
        String page = DashboardPages.admin(server.port).get("/ui/jobs/" + unsigned).body();
        assertThat(page).contains("REFUSED", "UNSIGNED_RELEASE: commit");

        // signed, but by a key the agents do not trust
        commit(git, repo, "3.0.0", intruder);
        publish(git, repo, admin, "main");
        refused(admin, entryJob("other key", 4, List.of()), "UNTRUSTED_KEY");

        // v1's signature on other content: the signed commit object with another tree (the intruder's)
        String signedRaw = git.ok(repo, "cat-file", "commit", v1);
        String otherTree = git.ok(repo, "rev-parse", "HEAD^{tree}").strip();
        Path forged = dir.resolve("forged-commit");
        Files.writeString(forged, signedRaw.replaceFirst("tree [0-9a-f]{40}", "tree " + otherTree));
        String tampered = git.ok(repo, "hash-object", "-t", "commit", "-w", forged.toString()).strip();
        git.ok(repo, "update-ref", "refs/heads/tampered", tampered);
        git.ok(repo, "push", "-q", "origin", "refs/heads/tampered:refs/heads/tampered");
        promote(admin, Map.of("ref", "tampered", "rollback", true)); // not a descendant of 3.0.0
        refused(admin, entryJob("tampered", 4, List.of()), "BAD_SIGNATURE");

        // recovery: promote a release signed by a trusted key again
        promote(admin, Map.of("commit", v1, "rollback", true));
        long back = run(admin, entryJob("back", 4, List.of("x")));
        assertThat(admin.get("/api/v1/jobs/" + back + "/results").body()).contains("\"version\":\"1.0.0\"");
        assertThat(a.logText()).contains("runs only releases signed by").doesNotContain("UNSIGNED CODE ALLOWED");
      }
    }
  }

  /** Submits the job, waits for it to fail, and checks every batch was refused once, with {@code reason}. */
  static long refused(Http admin, Map<String, Object> job, String reason) {
    long id = Jobs.submit(admin, job);
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
        .until(() -> Jobs.get(admin, id).get("state").asString(), s -> s.equals("FAILED") || s.equals("SUCCEEDED"));
    JsonNode view = Jobs.get(admin, id);
    assertThat(view.get("state").asString()).as(view.toString()).isEqualTo("FAILED");
    for (JsonNode b : admin.get("/api/v1/jobs/" + id + "/batches").json().get("items")) {
      assertThat(b.get("state").asString()).isEqualTo("DEAD");
      JsonNode history = admin.get("/api/v1/batches/" + b.get("id").asLong()).json().get("attemptHistory");
      assertThat(history).as("refused once, never retried (maxAttempts 3)").hasSize(1);
      assertThat(history.get(0).get("outcome").asString()).isEqualTo("REFUSED");
      assertThat(history.get(0).get("error").asString()).startsWith(reason + ": ");
    }
    assertThat(admin.get("/api/v1/jobs/" + id + "/failures").body()).contains(reason);
    return id;
  }

  static Path key(GitCli git, Path dir, String name) throws Exception {
    Path key = dir.resolve(name);
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@example.com",
        "-f", key.toString()).redirectErrorStream(true).start();
    assertThat(p.waitFor()).as(new String(p.getInputStream().readAllBytes())).isZero();
    return key;
  }

  static AgentProcess agent(ServerProcess server, String name, String trustedKey) throws Exception {
    return AgentProcess.start(
        "run", server.url(), server.dataDir.resolveSibling("agent-" + name), "agent-" + name + ".log",
        "--slots", "2", "--name", name, "--trusted-key", trustedKey);
  }

  /** Commits VERSION, the script and the manifest, signed with {@code key} (null: unsigned). */
  static String commit(GitCli git, Path repo, String version, Path key) throws Exception {
    Files.writeString(repo.resolve("VERSION"), version + "\n");
    Files.writeString(repo.resolve("process.sh"), SCRIPT);
    Files.writeString(repo.resolve("nightshift.json"), MANIFEST);
    git.ok(repo, "add", "-A");
    if (key == null) {
      git.ok(repo, "commit", "-q", "--allow-empty", "-m", "version " + version);
    } else {
      git.ok(repo, "-c", "gpg.format=ssh", "-c", "user.signingkey=" + key, "commit", "-q", "--allow-empty", "-S",
          "-m", "version " + version);
    }
    return git.ok(repo, "rev-parse", "HEAD").strip();
  }

  static void publish(GitCli git, Path repo, Http admin, String branch) throws Exception {
    git.ok(repo, "push", "-q", "origin", "HEAD:" + branch);
    promote(admin, Map.of("ref", branch));
  }

  static void promote(Http admin, Map<String, Object> body) {
    Http.Response r = admin.post("/api/v1/code/promotions", body);
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
  }

  static Map<String, Object> entryJob(String name, int items, List<String> args) {
    Map<String, Object> job = new HashMap<>();
    job.put("name", name);
    job.put("entryPoint", "process");
    if (args != null) {
      job.put("args", args);
    }
    job.put("batchSize", 2);
    job.put("items", IntStream.range(0, items).boxed().toList());
    job.put("timeoutSeconds", 60);
    return job;
  }

  static long run(Http admin, Map<String, Object> job) {
    long id = Jobs.submit(admin, job);
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300))
        .until(() -> Jobs.get(admin, id).get("state").asString(), s -> s.equals("SUCCEEDED") || s.equals("FAILED"));
    JsonNode view = Jobs.get(admin, id);
    assertThat(view.get("state").asString())
        .as(view + "\n" + admin.get("/api/v1/jobs/" + id + "/failures").body()).isEqualTo("SUCCEEDED");
    return id;
  }
}
