package dev.nightshift.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.batches.BatchSweeps;
import dev.nightshift.server.testing.CodeFixture;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The built {@code nightshift} CLI jar run as a process against a real server over real HTTP (build it first:
 * {@code ./mvnw -pl nightshift-cli -am package -DskipTests}). Batches are run by a {@link TestAgent} driven step by
 * step, so no test waits on timing. Bad inputs tried: an unknown job, a malformed CSV and JSON file, a bad token, a
 * revoked token, an unreachable server, a non-numeric job id, an unknown worker.
 */
@NightshiftTest
class CliIT {
  static final Path JAR = Path.of("../nightshift-cli/target/nightshift.jar").toAbsolutePath();

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired BatchSweeps sweeps;
  @TempDir Path dir;
  Http admin;

  record Run(int exit, String out, String err) {}

  @BeforeEach
  void setUp() {
    assumeTrue(Files.isRegularFile(JAR), "no CLI jar at " + JAR + ": run ./mvnw -pl nightshift-cli -am package first");
    Db.reset(jdbc);
    CodeFixture.ensureRelease(port);
    admin = Http.admin(port);
  }

  private Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("NIGHTSHIFT_SERVER", "http://127.0.0.1:" + port);
    env.put("NIGHTSHIFT_USER", "admin");
    env.put("NIGHTSHIFT_PASSWORD", Http.ADMIN_PASSWORD);
    env.put("NIGHTSHIFT_CLI_CONFIG", dir.resolve("none.properties").toString());
    return env;
  }

  private Run cli(String stdin, String... args) throws IOException, InterruptedException {
    return cliWith(env(), stdin, args);
  }

  private Run cliWith(Map<String, String> env, String stdin, String... args) throws IOException, InterruptedException {
    Files.writeString(dir.resolve("none.properties"), "");
    List<String> command = new ArrayList<>(List.of(javaBin(), "-XX:TieredStopAtLevel=1", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().remove("NIGHTSHIFT_TOKEN");
    pb.environment().putAll(env);
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    if (stdin == null) {
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    }
    Process p = pb.start();
    if (stdin != null) {
      try (var in = p.getOutputStream()) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("nightshift " + String.join(" ", args) + " finished").isTrue();
    Run run = new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    // plain output when not a terminal: never an escape or a carriage return (the server's CSV export is data: CRLF)
    String checked = List.of(args).contains("csv") && List.of(args).contains("results") ? run.err : run.out + run.err;
    assertThat(checked).as("output of " + String.join(" ", args)).doesNotContain("\033", "\r");
    return run;
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private long lastJobId() {
    Long id = jdbc.queryForObject("SELECT MAX(id) FROM job", Long.class);
    return id == null ? 0 : id;
  }

  /** Claims every batch there is and completes each with one output line per batch, or fails it. */
  private static void runAll(TestAgent agent, boolean succeed) {
    while (true) {
      List<Lease> got = agent.claim(8, 0);
      if (got.isEmpty()) {
        return;
      }
      for (Lease l : got) {
        if (succeed) {
          assertThat(agent.complete(l, "{\"batch\":" + l.batchId() + ",\"note\":\"a,b\"}\n").status()).isEqualTo(200);
        } else {
          assertThat(agent.fail(l, "exit 3", "Traceback: boom on stderr\n").status()).isEqualTo(200);
        }
      }
    }
  }

  @Test
  void submitsFromJsonNdjsonCsvFilesAndStdin() throws Exception {
    Path json = Files.writeString(dir.resolve("items.json"), "[{\"id\":1},{\"id\":2},{\"id\":3}]");
    Path ndjson = Files.writeString(dir.resolve("items.ndjson"), "{\"id\":1}\n{\"id\":2}\n");
    Path csv = Files.writeString(dir.resolve("items.csv"), "id,addr\n1,\"Main St, 1\"\n2,Elm\n3,Oak\n4,Ash\n");
    String[] base = {"submit", "--name", "cli", "--command", "cat", "--batch-size", "2", "-q"};

    Run r = cli(null, concat(base, "--items", json.toString()));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(Jobs.get(admin, Long.parseLong(r.out.trim())).get("itemCount").asLong()).isEqualTo(3);

    r = cli(null, concat(base, "--items", ndjson.toString()));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(Jobs.get(admin, Long.parseLong(r.out.trim())).get("itemCount").asLong()).isEqualTo(2);

    r = cli(null, concat(base, "--items", csv.toString()));
    assertThat(r.exit).as(r.toString()).isZero();
    long csvJob = Long.parseLong(r.out.trim());
    assertThat(Jobs.get(admin, csvJob).get("itemCount").asLong()).isEqualTo(4);
    assertThat(Jobs.get(admin, csvJob).get("batchCount").asLong()).isEqualTo(2);
    // the CSV rows arrive as JSON objects: the agent gets them on stdin
    TestAgent agent = TestAgent.enroll(port, "csv-reader", 8, Map.of());
    Lease first =
        agent.claim(8, 0).stream()
            .filter(l -> l.jobId() == csvJob)
            .min(java.util.Comparator.comparingLong(Lease::batchId))
            .orElseThrow();
    assertThat(first.input().items())
        .isEqualTo("{\"id\":\"1\",\"addr\":\"Main St, 1\"}\n{\"id\":\"2\",\"addr\":\"Elm\"}\n");

    r = cli("first line\nsecond, with a comma\n", concat(base, "--items", "-", "--format", "csv", "--no-csv-header"));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(Jobs.get(admin, Long.parseLong(r.out.trim())).get("itemCount").asLong()).isEqualTo(2);

    r = cli("[10, 20, 30, 40, 50]", concat(base, "--items", "-"));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(Jobs.get(admin, Long.parseLong(r.out.trim())).get("itemCount").asLong()).isEqualTo(5);

    r = cli("a,b\n1,2\n", concat(base, "--items", "-", "--format", "csv"));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(Jobs.get(admin, Long.parseLong(r.out.trim())).get("itemCount").asLong()).isEqualTo(1);

    // a spec file, with options overriding it; a range job; the human answer names the next command
    Path spec = Files.writeString(dir.resolve("job.json"), "{\"name\":\"from-spec\",\"command\":\"true\",\"batchSize\":5,\"priority\":3,\"range\":{\"start\":0,\"end\":10}}");
    r = cli(null, "submit", "--spec", spec.toString(), "--priority", "7");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("submitted job").contains("10 items in 2 batches").contains("nightshift watch ");
    assertThat(Jobs.get(admin, lastJobId()).get("priority").asInt()).isEqualTo(7);
    r = cli(null, "submit", "--spec", spec.toString(), "--json");
    assertThat(Http.JSON.readTree(r.out).get("name").asString()).isEqualTo("from-spec");
  }

  @Test
  void malformedFilesAndBadSubmissionsAreRefusedAndNothingIsKept() throws Exception {
    long before = lastJobId();
    Path csv = Files.writeString(dir.resolve("bad.csv"), "id,addr\n1,a\n2,b,EXTRA\n");
    Run r = cli(null, "submit", "--name", "x", "--command", "cat", "--batch-size", "1", "--items", csv.toString());
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: ").contains("line 3: the row has 3 field(s) but the header has 2");

    Path json = Files.writeString(dir.resolve("bad.json"), "[1,\n2,\n{oops}]");
    r = cli(null, "submit", "--name", "x", "--command", "cat", "--batch-size", "1", "--items", json.toString());
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: bad.json line 3: malformed JSON");

    // the server's own refusal (a bad NDJSON line) comes back as its detail
    r = cli("{\"id\":1}\nnot json\n", "submit", "--name", "x", "--command", "cat", "--batch-size", "1", "--items", "-");
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: ").contains("line 2");

    r = cli(null, "submit", "--name", "x", "--command", "cat", "--batch-size", "0", "--range", "0:10");
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).contains("nightshift: ").contains("batchSize must be between 1 and 1000000");

    r = cli(null, "submit", "--name", "x", "--command", "cat", "--batch-size", "1");
    assertThat(r.exit).as(r.toString()).isEqualTo(2);
    assertThat(r.err).contains("nightshift: give the items");

    r = cli(null, "submit", "--name", "x", "--command", "cat", "--batch-size", "1", "--items", dir.resolve("missing.csv").toString());
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).contains("does not exist");
    assertThat(lastJobId()).as("no job kept").isEqualTo(before);
  }

  @Test
  void watchExitsZeroOnSuccessNonZeroOnFailureAndShowsFailuresAndResults() throws Exception {
    TestAgent agent = TestAgent.enroll(port, "cli-agent", 4, Map.of());
    long ok = Jobs.submit(admin, Map.of("name", "ok", "command", "cat", "batchSize", 1, "items", List.of(1, 2, 3)));
    runAll(agent, true);
    Run r = cli(null, "watch", Long.toString(ok));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("job " + ok + " SUCCEEDED").contains("3/3 items");
    assertThat(r.out.lines().count()).as("one plain line per change").isEqualTo(1);

    Path out = dir.resolve("results.ndjson");
    r = cli(null, "results", Long.toString(ok), "-o", out.toString());
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(Files.readAllLines(out)).hasSize(3).allMatch(l -> l.startsWith("{\"batch\":"));
    assertThat(r.err).contains("wrote 3 lines to");
    r = cli(null, "results", Long.toString(ok), "--format", "csv");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out.split("\r\n")).hasSize(4);
    assertThat(r.out).startsWith("index,batch,line,").contains(",\"a,b\"\r\n");

    long bad =
        Jobs.submit(
            admin, Map.of("name", "bad", "command", "false", "batchSize", 1, "maxAttempts", 1, "items", List.of(1)));
    runAll(agent, false);
    r = cli(null, "watch", Long.toString(bad));
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).contains("nightshift: job " + bad + " FAILED").contains("nightshift failures " + bad);
    r = cli(null, "failures", Long.toString(bad));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("FAILED on cli-agent").contains("error: exit 3").contains("    Traceback: boom on stderr");
    r = cli(null, "failures", Long.toString(bad), "--json");
    assertThat(Http.JSON.readTree(r.out).get("failures").get(0).get("logTail").asString()).contains("boom");

    r = cli(null, "results", Long.toString(bad));
    assertThat(r.exit).as("results of a FAILED job without --partial: " + r).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: ").contains("partial");
    r = cli(null, "results", Long.toString(bad), "--partial");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).isEmpty();
    assertThat(r.err).contains("job " + bad + " is FAILED: results of 0 of 1 batches");

    r = cli(null, "retry", Long.toString(bad));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("job " + bad + " RUNNING");

    r = cli(null, "jobs");
    assertThat(r.out).contains("ID").contains(" ok").contains(" bad");
    r = cli(null, "watch", "999999999");
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: ").contains("999999999");
    r = cli(null, "watch", "seven");
    assertThat(r.exit).as(r.toString()).isEqualTo(2);
  }

  @Test
  void pauseResumeCancel() throws Exception {
    long id = Jobs.submit(admin, Jobs.range("steer", "true", 10, 1));
    Run r = cli(null, "pause", Long.toString(id));
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).startsWith("job " + id + " PAUSED");
    r = cli(null, "resume", Long.toString(id));
    assertThat(r.out).startsWith("job " + id + " QUEUED");
    r = cli(null, "cancel", Long.toString(id), "--json");
    assertThat(Http.JSON.readTree(r.out).get("state").asString()).isEqualTo("CANCELLED");
    r = cli(null, "watch", Long.toString(id));
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).contains("CANCELLED");
    r = cli(null, "resume", Long.toString(id));
    assertThat(r.exit).as("resuming a cancelled job is refused: " + r).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: ");
  }

  /**
   * A cancel sets the job's state first and sweeps its batches after (in chunks; a crash or a locked row leaves the
   * rest to the reaper's sweep): a watch that sees CANCELLED at that moment waits for the final counts instead of
   * printing "0 batches cancelled" of 3 (seen: "1000 batches cancelled" of a 3,000-batch job).
   */
  @Test
  void watchOfAJobCancelledMidSweepPrintsTheFinalCounts() throws Exception {
    long id = Jobs.submit(admin, Jobs.range("swept", "true", 3, 1));
    jdbc.update("UPDATE job SET state = 'CANCELLED' WHERE id = ?", id); // the state is changed, no batch swept yet
    CompletableFuture<Run> watch =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return cli(null, "watch", Long.toString(id));
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(3000); // the watch is reading the half-cancelled job (a JVM starts in ~1 s)
    assertThat(watch).as("the watch waits while the batches are swept").isNotDone();
    assertThat(sweeps.sweepCancelledJobs()).isEqualTo(3);
    Run r = watch.get(60, TimeUnit.SECONDS);
    assertThat(r.exit).as(r.toString()).isEqualTo(1);
    assertThat(r.err).contains("job " + id + " CANCELLED").contains("3 batches cancelled");
  }

  @Test
  void workersCodeAndTokens() throws Exception {
    TestAgent agent = TestAgent.enroll(port, "desk-17", 2, Map.of("os", "linux"));
    Run r = cli(null, "workers");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("desk-17").contains("os=linux").contains(agent.workerId);
    r = cli(null, "workers", "drain", "desk-17");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("drained by admin");
    r = cli(null, "workers", "resume", agent.workerId, "--json");
    assertThat(Http.JSON.readTree(r.out).get("drainedAt").isNull()).isTrue();
    r = cli(null, "workers", "revoke", "nobody-here");
    assertThat(r.exit).isEqualTo(1);
    assertThat(r.err).contains("no worker is named or has the id 'nobody-here'");
    r = cli(null, "workers", "revoke", "desk-17");
    assertThat(r.out).contains("DISABLED");

    r = cli(null, "code", "status");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).contains("current release: ");
    r = cli(null, "code", "promote", "no-such-branch");
    assertThat(r.exit).isEqualTo(1);
    assertThat(r.err).startsWith("nightshift: ");

    r = cli(null, "tokens", "create", "cli test", "--role", "operator");
    assertThat(r.exit).as(r.toString()).isZero();
    String token = r.out.trim();
    assertThat(token).startsWith("nst_");
    Map<String, String> withToken = env();
    withToken.remove("NIGHTSHIFT_USER");
    withToken.put("NIGHTSHIFT_TOKEN", token);
    r = cliWith(withToken, null, "jobs");
    assertThat(r.exit).as(r.toString()).isZero();
    r = cliWith(withToken, null, "tokens");
    assertThat(r.exit).as("an OPERATOR may not list tokens: " + r).isEqualTo(4);
    r = cli(null, "tokens");
    assertThat(r.out).contains("cli test").contains("OPERATOR");
    String id = r.out.lines().filter(l -> l.contains("cli test")).findFirst().orElseThrow().split(" +")[0];
    r = cli(null, "tokens", "revoke", id);
    assertThat(r.exit).as(r.toString()).isZero();
    r = cliWith(withToken, null, "jobs");
    assertThat(r.exit).as("revoked token: " + r).isEqualTo(4);
    assertThat(r.err).startsWith("nightshift: ").contains("NIGHTSHIFT_TOKEN");

    r = cli(null, "jobs", "--token", "nst_wrong");
    assertThat(r.exit).as(r.toString()).isEqualTo(4);
    r = cli(null, "jobs", "--server", "http://127.0.0.1:1");
    assertThat(r.exit).as(r.toString()).isEqualTo(3);
    assertThat(r.err).contains("nightshift: cannot reach the server at http://127.0.0.1:1");
    Map<String, String> noCredentials = env();
    noCredentials.remove("NIGHTSHIFT_USER");
    r = cliWith(noCredentials, null, "jobs");
    assertThat(r.exit).isEqualTo(4);
    assertThat(r.err).contains("no credentials");
  }

  @Test
  void watchRedrawsOneProgressLineInATerminal() throws Exception {
    assumeTrue(new File("/usr/bin/tmux").canExecute(), "tmux is not installed at /usr/bin/tmux");
    TestAgent agent = TestAgent.enroll(port, "tty-agent", 1, Map.of());
    long id = Jobs.submit(admin, Map.of("name", "tty", "command", "cat", "batchSize", 1, "items", List.of(1, 2, 3, 4)));
    completeOne(agent);
    String session = "nightshift-cli-" + ProcessHandle.current().pid();
    StringBuilder command = new StringBuilder("env");
    env().forEach((k, v) -> command.append(' ').append(k).append('=').append(v));
    command.append(' ').append(javaBin()).append(" -jar ").append(JAR).append(" watch ").append(id)
        .append("; echo EXIT=$?; sleep 60");
    Files.writeString(dir.resolve("none.properties"), "");
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "10", command.toString());
    try {
      String pane = awaitPane(session, p -> p.contains("1/4 items"));
      assertThat(pane).contains("job " + id + " RUNNING [").contains("3 remaining").contains("ETA");
      completeOne(agent);
      completeOne(agent);
      pane = awaitPane(session, p -> p.contains("3/4 items"));
      assertThat(pane.lines().filter(l -> l.contains("job " + id)).count())
          .as("the progress line is redrawn in place:\n" + pane)
          .isEqualTo(1);
      assertThat(pane.lines().mapToInt(String::length).max().orElse(0)).isLessThan(100);
      completeOne(agent);
      pane = awaitPane(session, p -> p.contains("EXIT="));
      assertThat(pane).contains("job " + id + " SUCCEEDED").contains("EXIT=0");
    } finally {
      tmux("kill-session", "-t", session);
    }
  }

  private static void completeOne(TestAgent agent) {
    List<Lease> got = agent.claim(1, 0);
    assertThat(got).hasSize(1);
    assertThat(agent.complete(got.get(0), "{}\n").status()).isEqualTo(200);
  }

  private static String tmux(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("/usr/bin/tmux"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    return out;
  }

  private static String awaitPane(String session, Predicate<String> done) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
    String pane = "";
    while (Instant.now().isBefore(deadline)) {
      pane = tmux("capture-pane", "-p", "-t", session);
      if (done.test(pane)) {
        return pane;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the pane never showed what was expected:\n" + pane);
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
