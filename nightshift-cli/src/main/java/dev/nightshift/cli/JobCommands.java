package dev.nightshift.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** Commands about jobs: submit, watch, results, failures, list, show and steer. */
final class JobCommands {
  private JobCommands() {}

  static Progress.JobStatus status(JsonNode j) {
    JsonNode c = j.path("counts");
    return new Progress.JobStatus(
        j.path("id").asLong(),
        j.path("state").asString(),
        j.path("itemCount").asLong(),
        j.path("succeededItems").asLong(),
        j.path("progress").asDouble(),
        j.path("itemsPerMinute").asDouble(),
        j.hasNonNull("etaSeconds") ? j.get("etaSeconds").asLong() : null,
        j.path("batchSize").asInt(1),
        c.path("pending").asInt(),
        c.path("leased").asInt(),
        c.path("succeeded").asInt(),
        c.path("dead").asInt(),
        c.path("cancelled").asInt());
  }

  static String summary(JsonNode j) {
    Progress.JobStatus s = status(j);
    return "job " + s.id() + " " + s.state() + ": " + Progress.count(s.succeededItems()) + " of "
        + Progress.count(s.itemCount()) + " items succeeded"
        + (s.dead() > 0 ? ", " + Progress.count(s.dead()) + (s.dead() == 1 ? " batch dead" : " batches dead") : "")
        + (s.cancelled() > 0
            ? ", " + Progress.count(s.cancelled()) + (s.cancelled() == 1 ? " batch cancelled" : " batches cancelled")
            : "");
  }

  @Command(
      name = "submit",
      mixinStandardHelpOptions = true,
      description = {
        "Submit a job.",
        "Items come from --items FILE (a JSON array, NDJSON or CSV; - reads stdin), streamed to the server",
        "with a progress bar; or from --range, or from \"items\" in --spec.",
        "Options override the fields of --spec. Prints the job; -q prints its id only."
      })
  static final class Submit extends Base {
    @Option(names = "--spec", paramLabel = "FILE", description = "Job spec as JSON (the fields of POST /api/v1/jobs).")
    Path spec;

    @Option(names = "--name", description = "Job name.")
    String name;

    @Option(names = "--command", paramLabel = "CMD", description = "Shell command run for each batch (agents that run only signed releases refuse it: use --entry-point).")
    String command;

    @Option(names = "--entry-point", paramLabel = "NAME", description = "An entry point of the release's nightshift.json, run instead of a command.")
    String entryPoint;

    @Option(names = "--arg", paramLabel = "VALUE", description = "An argument for the entry point, passed as is (repeatable, in order).")
    List<String> args;

    @Option(names = "--batch-size", paramLabel = "N", description = "Items per batch.")
    Integer batchSize;

    @Option(names = "--items", paramLabel = "FILE", description = "Items file (.json, .ndjson/.jsonl, .csv) or -.")
    String items;

    @Option(names = "--format", paramLabel = "FMT", description = "Items format: json, ndjson or csv (default: by file name, else by content).")
    String format;

    @Option(names = "--range", paramLabel = "START:END", description = "A range job instead of items (END exclusive).")
    String range;

    @Option(names = "--priority", description = "-1000..1000, higher runs first (default 0).")
    Integer priority;

    @Option(names = "--max-attempts", paramLabel = "N", description = "Failed runs before a batch is DEAD (default 3).")
    Integer maxAttempts;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Per-batch timeout (default 3600).")
    Integer timeoutSeconds;

    @Option(names = "--max-parallel", paramLabel = "N", description = "Most batches of this job leased at once.")
    Integer maxParallel;

    @Option(names = "--env", paramLabel = "KEY=VALUE", description = "Extra environment (repeatable).")
    Map<String, String> env;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Required worker label (repeatable).")
    Map<String, String> labels;

    @Option(names = "--commit", description = "Pin the job to this commit.")
    String commit;

    @Option(names = "--retention", paramLabel = "AGE", description = "Keep inputs, results and attempts this long after the job finishes: 7d, 12h, 90m (default: the server's).")
    String retention;

    @Option(names = "--no-csv-header", description = "CSV items have no header row: each line is one string item, as sent.")
    boolean noCsvHeader;

    @Option(names = {"-q", "--quiet"}, description = "Print only the new job's id.")
    boolean quiet;

    @Option(names = "--watch", description = "Watch the job after submitting it (as nightshift watch).")
    boolean watch;

    @Override
    public Integer call() throws IOException {
      ObjectNode job = ApiClient.JSON.createObjectNode();
      if (spec != null) {
        JsonNode read;
        try {
          read = ApiClient.JSON.readTree(Files.readString(spec));
        } catch (NoSuchFileException e) {
          throw CliException.failure("spec file " + spec + " does not exist");
        } catch (JacksonException e) {
          throw CliException.failure(spec + ": malformed JSON: " + e.getOriginalMessage());
        }
        if (!read.isObject()) {
          throw CliException.failure(spec + ": a job spec is a JSON object with the fields of POST /api/v1/jobs");
        }
        job.setAll((ObjectNode) read);
      }
      put(job, "name", name);
      put(job, "command", command);
      put(job, "entryPoint", entryPoint);
      if (args != null) {
        var a = job.putArray("args");
        args.forEach(a::add);
      }
      put(job, "batchSize", batchSize);
      put(job, "priority", priority);
      put(job, "maxAttempts", maxAttempts);
      put(job, "timeoutSeconds", timeoutSeconds);
      put(job, "maxParallel", maxParallel);
      put(job, "commit", commit);
      put(job, "retention", retention);
      if (env != null) {
        ObjectNode e = job.has("env") && job.get("env").isObject() ? (ObjectNode) job.get("env") : job.putObject("env");
        env.forEach(e::put);
      }
      if (labels != null) {
        ObjectNode l =
            job.has("labels") && job.get("labels").isObject() ? (ObjectNode) job.get("labels") : job.putObject("labels");
        labels.forEach(l::put);
      }
      if (range != null) {
        String[] parts = range.split(":", -1);
        if (parts.length != 2 || !parts[0].matches("[0-9]{1,18}") || !parts[1].matches("[0-9]{1,18}")) {
          throw CliException.usage("--range must look like START:END, e.g. 0:1000000 (got '" + range + "')");
        }
        ObjectNode r = job.putObject("range");
        r.put("start", Long.parseLong(parts[0]));
        r.put("end", Long.parseLong(parts[1]));
        job.remove("items");
      }
      int given = (items != null ? 1 : 0) + (job.has("items") ? 1 : 0) + (job.has("range") ? 1 : 0);
      if (given == 0) {
        throw CliException.usage(
            "give the items: --items FILE (JSON array, NDJSON or CSV; - for stdin), --range START:END, or \"items\""
                + " in --spec");
      }
      if (given > 1) {
        throw CliException.usage("give items one way only: --items, --range or \"items\"/\"range\" in --spec");
      }
      Main main = main();
      ApiClient.Answer answer = items != null ? upload(job) : postJson(job);
      JsonNode created = answer.json();
      long id = created.path("id").asLong();
      if (json()) {
        main.printJson(answer.body());
      } else if (quiet) {
        main.out.println(id);
      } else {
        main.out.println(
            "submitted job " + id + " \"" + text(created, "name") + "\": "
                + Progress.plural(created.path("itemCount").asLong(), "item") + " in "
                + Progress.plural(created.path("batchCount").asLong(), "batch"));
        if (!watch) {
          main.out.println("watch it: nightshift watch " + id);
        }
      }
      main.out.flush();
      if (watch) {
        return Watch.watch(main, id, 1000);
      }
      return 0;
    }

    private static void put(ObjectNode job, String field, Object value) {
      if (value instanceof String s) {
        job.put(field, s);
      } else if (value instanceof Integer i) {
        job.put(field, i);
      }
    }

    private ApiClient.Answer postJson(ObjectNode job) {
      byte[] body = ApiClient.JSON.writeValueAsBytes(job);
      Transfer t = new Transfer(main(), "uploading job", body.length);
      try (InputStream in = new Items.Counting(new java.io.ByteArrayInputStream(body), t::update)) {
        return api().upload("/api/v1/jobs", "application/json", in);
      } catch (IOException e) {
        throw CliException.failure(e.getMessage());
      } finally {
        t.done();
      }
    }

    private ApiClient.Answer upload(ObjectNode job) throws IOException {
      List<Map.Entry<String, String>> params = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = job.properties().iterator(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        String key = f.getKey();
        JsonNode v = f.getValue();
        if (v.isNull()) {
          continue;
        }
        if (key.equals("args") && v.isArray()) {
          for (JsonNode arg : v) {
            params.add(Map.entry("arg", arg.asString()));
          }
        } else if (key.equals("env") || key.equals("labels")) {
          String param = key.equals("env") ? "env" : "label";
          for (Map.Entry<String, JsonNode> pair : v.properties()) {
            params.add(Map.entry(param, pair.getKey() + "=" + pair.getValue().asString()));
          }
        } else if (v.isObject() || v.isArray()) {
          throw CliException.usage("spec field " + key + " cannot go with --items (it streams as NDJSON)");
        } else {
          params.add(Map.entry(key, v.asString()));
        }
      }
      Items.Format fmt = format != null ? Items.Format.parse(format) : items.equals("-") ? null : Items.byName(items);
      String label = items.equals("-") ? "stdin" : Path.of(items).getFileName().toString();
      InputStream raw;
      long total = -1;
      if (items.equals("-")) {
        raw = System.in;
      } else {
        Path file = Path.of(items);
        if (!Files.isRegularFile(file)) {
          throw CliException.failure("items file " + items + " does not exist");
        }
        total = Files.size(file);
        raw = Files.newInputStream(file);
      }
      if (noCsvHeader) {
        if (fmt != Items.Format.CSV) {
          throw CliException.usage("--no-csv-header goes with CSV items (a .csv file or --format csv)");
        }
        params.add(Map.entry("csvHeader", "false"));
      }
      Transfer t = new Transfer(main(), "uploading " + label, total);
      try (InputStream counted = new Items.Counting(raw, t::update)) {
        if (fmt == Items.Format.CSV) {
          // the server parses CSV itself, streamed, and names the line of a bad row
          return api().upload("/api/v1/jobs" + ApiClient.query(params), "text/csv", counted);
        }
        try (InputStream ndjson = Items.ndjson(counted, fmt, label)) {
          return api().upload("/api/v1/jobs" + ApiClient.query(params), "application/x-ndjson", ndjson);
        }
      } finally {
        t.done();
      }
    }
  }

  /** An upload or download progress line on stderr when stderr is a terminal, at most five redraws a second. */
  static final class Transfer {
    private final Progress progress;
    private final String what;
    private final long total;
    private final long started = System.nanoTime();
    private long lastDraw;
    private long done;

    Transfer(Main main, String what, long total) {
      boolean terminal = main.stderrTerminal();
      this.progress = terminal ? new Progress(main.err, true, Terminal.width()) : null;
      this.what = what;
      this.total = total;
    }

    synchronized void update(long bytes) {
      done = bytes;
      long now = System.nanoTime();
      if (progress != null && now - lastDraw > 200_000_000L) {
        lastDraw = now;
        draw(now);
      }
    }

    private void draw(long now) {
      double seconds = (now - started) / 1e9;
      double rate = seconds > 0.5 ? done / seconds : 0;
      progress.show(Progress.transferLine(what, done, total, rate, progress.width()), null);
    }

    synchronized void done() {
      if (progress != null) {
        draw(System.nanoTime());
        progress.done();
      }
    }
  }

  @Command(
      name = "watch",
      mixinStandardHelpOptions = true,
      description = {
        "Follow a job's progress until it finishes.",
        "A progress bar redrawn about once a second on a terminal (items done of",
        "total, rate, ETA, items remaining), else one plain line per change. Exit 0 when it SUCCEEDED, 1 when it",
        "FAILED or was CANCELLED."
      })
  static final class Watch extends Base {
    @Parameters(paramLabel = "JOB", description = "Job id.")
    long job;

    @Option(names = "--interval", paramLabel = "MILLIS", description = "Poll interval (default 1000).")
    long interval = 1000;

    @Override
    public Integer call() {
      return watch(main(), job, Math.max(100, interval));
    }

    static int watch(Main main, long job, long interval) {
      boolean terminal = !main.json && main.stdoutTerminal();
      Progress progress = new Progress(main.out, terminal, terminal ? Terminal.width() : 200);
      int settle = 0;
      while (true) {
        ApiClient.Answer answer = main.api().get("/api/v1/jobs/" + job);
        JsonNode j = answer.json();
        Progress.JobStatus s = status(j);
        // a just-cancelled job's counts move for a moment (its batches are swept after its state): wait for the
        // final ones, a few seconds at most, rather than print "1,000 batches cancelled" of 3,000
        if (s.settling() && settle++ < SETTLE_POLLS) {
          if (!sleep(SETTLE_INTERVAL_MS)) {
            return 1;
          }
          continue;
        }
        if (main.json) {
          progress.show(answer.body().strip(), s.changeKey());
        } else {
          progress.show(Progress.watchLine(s, progress.width()), s.changeKey());
        }
        if (s.finished()) {
          progress.done();
          if (s.state().equals("SUCCEEDED")) {
            return 0;
          }
          throw CliException.failure(
              summary(j)
                  + (s.dead() > 0 ? " (see: nightshift failures " + job + ")" : ""));
        }
        if (!sleep(interval)) {
          return 1;
        }
      }
    }

    private static final int SETTLE_POLLS = 50;
    private static final long SETTLE_INTERVAL_MS = 200;

    private static boolean sleep(long millis) {
      try {
        Thread.sleep(millis);
        return true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  @Command(
      name = "results",
      mixinStandardHelpOptions = true,
      description = {
        "Download a job's results as NDJSON or CSV.",
        "What its succeeded batches wrote to stdout, in batch order (CSV: the server's export, one row per output",
        "line). Works while the job runs. A FAILED or CANCELLED job with batches lacking a result is refused",
        "unless --partial."
      })
  static final class Results extends Base {
    @Parameters(paramLabel = "JOB", description = "Job id.")
    long job;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
    Path output;

    @Option(names = "--format", paramLabel = "FMT", description = "ndjson (default) or csv.")
    String format = "ndjson";

    @Option(names = "--partial", description = "Download what exists of a FAILED or CANCELLED job's results.")
    boolean partial;

    @Override
    public Integer call() throws IOException {
      List<Map.Entry<String, String>> q = new ArrayList<>();
      if (format.equalsIgnoreCase("csv")) {
        q.add(Map.entry("format", "csv"));
      } else if (!format.equalsIgnoreCase("ndjson")) {
        throw CliException.usage("--format must be ndjson or csv (got '" + format + "')");
      }
      if (partial) {
        q.add(Map.entry("partial", "true"));
      }
      Main main = main();
      HttpResponse<InputStream> r;
      try {
        r = api().open("/api/v1/jobs/" + job + "/results" + ApiClient.query(q));
      } catch (CliException e) {
        if (e.exitCode == CliException.FAILURE && e.getMessage().contains("partial=true")) {
          throw CliException.failure(e.getMessage() + " (here: nightshift results " + job + " --partial)");
        }
        throw e;
      }
      String state = r.headers().firstValue("Nightshift-Job-State").orElse("");
      String batches = r.headers().firstValue("Nightshift-Batches").orElse("?");
      String withResult = r.headers().firstValue("Nightshift-Batches-With-Result").orElse("?");
      Transfer t = new Transfer(main, "downloading results of job " + job, -1);
      long lines;
      OutputStream sink = output == null ? main.out : Files.newOutputStream(output);
      try (InputStream in = new Items.Counting(r.body(), t::update)) {
        lines = copy(in, sink);
      } catch (IOException e) {
        throw new CliException(CliException.UNREACHABLE, "the download of results broke off: " + e.getMessage());
      } finally {
        t.done();
        sink.flush();
        if (output != null) {
          sink.close();
        }
      }
      if (!state.equals("SUCCEEDED")) {
        main.err.println(
            "nightshift: job " + job + " is " + state + ": results of " + withResult + " of " + batches
                + " batches");
      }
      if (output != null) {
        main.err.println("wrote " + Progress.count(lines) + " lines to " + output);
      }
      return 0;
    }

    private static long copy(InputStream in, OutputStream out) throws IOException {
      byte[] buf = new byte[64 * 1024];
      long lines = 0;
      int n;
      while ((n = in.read(buf)) > 0) {
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            lines++;
          }
        }
        out.write(buf, 0, n);
      }
      return lines;
    }
  }

  @Command(
      name = "failures",
      mixinStandardHelpOptions = true,
      description = "A job's newest failed attempts with the tail of their stderr (those of DEAD batches first).")
  static final class Failures extends Base {
    @Parameters(paramLabel = "JOB", description = "Job id.")
    long job;

    @Option(names = "--limit", paramLabel = "N", description = "How many attempts, 1-100 (default 10).")
    int limit = 10;

    @Override
    public Integer call() {
      ApiClient.Answer a = api().get("/api/v1/jobs/" + job + "/failures?limit=" + limit);
      if (json()) {
        main().printJson(a.body());
        return 0;
      }
      PrintStream out = main().out;
      JsonNode failures = a.json().path("failures");
      if (failures.isEmpty()) {
        out.println("job " + job + " has no failed attempts");
      }
      for (JsonNode f : failures) {
        StringBuilder head = new StringBuilder();
        head.append("batch ").append(text(f, "batchId")).append(" (").append(text(f, "batchState")).append(")")
            .append(" attempt ").append(text(f, "attempt")).append(' ').append(text(f, "outcome"));
        if (!text(f, "workerName").isEmpty()) {
          head.append(" on ").append(text(f, "workerName"));
        }
        if (!text(f, "exitCode").isEmpty()) {
          head.append(", exit ").append(text(f, "exitCode"));
        }
        if (!text(f, "finishedAt").isEmpty()) {
          head.append(", ").append(text(f, "finishedAt"));
        }
        out.println(head);
        if (!text(f, "error").isEmpty()) {
          out.println("  error: " + text(f, "error"));
        }
        String tail = text(f, "logTail").stripTrailing();
        if (!tail.isEmpty()) {
          out.println("  stderr:");
          for (String l : tail.split("\r?\n", -1)) {
            out.println("    " + l);
          }
        }
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "jobs", mixinStandardHelpOptions = true, description = "List jobs, newest first.")
  static final class ListJobs extends Base {
    @Option(names = "--state", description = "Only jobs in this state (QUEUED, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED).")
    String state;

    @Option(names = "--limit", paramLabel = "N", description = "How many, 1-500 (default 50).")
    int limit = 50;

    @Option(names = "--before", paramLabel = "ID", description = "Jobs older than this id (next page).")
    Long before;

    @Override
    public Integer call() {
      List<Map.Entry<String, String>> q = new ArrayList<>();
      q.add(Map.entry("limit", Integer.toString(limit)));
      if (state != null) {
        q.add(Map.entry("state", state));
      }
      if (before != null) {
        q.add(Map.entry("before", Long.toString(before)));
      }
      ApiClient.Answer a = api().get("/api/v1/jobs" + ApiClient.query(q));
      if (json()) {
        main().printJson(a.body());
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"ID", "STATE", "DONE", "ITEMS", "DEAD", "CREATED", "NAME"});
      for (JsonNode j : a.json().path("items")) {
        Progress.JobStatus s = status(j);
        rows.add(
            new String[] {
              Long.toString(s.id()), s.state(), Progress.percent(s.progress()),
              Progress.count(s.succeededItems()) + "/" + Progress.count(s.itemCount()), Integer.toString(s.dead()),
              text(j, "createdAt"), text(j, "name")
            });
      }
      Table.print(main().out, rows);
      JsonNode next = a.json().path("nextBefore");
      if (!next.isNull() && !next.isMissingNode()) {
        main().out.println("more: nightshift jobs --before " + next.asString());
      }
      return 0;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "One job: state, counts, rate and ETA.")
  static final class Show extends Base {
    @Parameters(paramLabel = "JOB", description = "Job id.")
    long job;

    @Override
    public Integer call() {
      ApiClient.Answer a = api().get("/api/v1/jobs/" + job);
      if (json()) {
        main().printJson(a.body());
        return 0;
      }
      JsonNode j = a.json();
      Map<String, String> rows = new LinkedHashMap<>();
      rows.put("job", text(j, "id") + " \"" + text(j, "name") + "\"");
      rows.put("state", text(j, "state"));
      if (j.hasNonNull("entryPoint")) {
        rows.put("entry", text(j, "entryPoint") + " " + j.path("args").toString());
      } else {
        rows.put("command", text(j, "command"));
      }
      rows.put("progress", Progress.watchLine(status(j), 200));
      rows.put("batches", j.path("batchCount").asString() + " of up to " + text(j, "batchSize") + " items; "
          + j.path("counts").toString());
      rows.put("submitted", text(j, "createdAt") + " by " + text(j, "submittedBy"));
      rows.put("finished", text(j, "finishedAt"));
      rows.forEach((k, v) -> main().out.printf("%-10s %s%n", k, v));
      main().out.flush();
      return 0;
    }
  }

  /** cancel, pause, resume and retry: POST /api/v1/jobs/{id}/{action}. */
  abstract static class Steer extends Base {
    @Parameters(paramLabel = "JOB", description = "Job id.")
    long job;

    abstract String action();

    @Override
    public Integer call() {
      ApiClient.Answer a = api().post("/api/v1/jobs/" + job + "/" + action(), null);
      if (json()) {
        main().printJson(a.body());
      } else {
        main().out.println(summary(a.json()));
        main().out.flush();
      }
      return 0;
    }
  }

  @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job: pending and running batches become CANCELLED.")
  static final class Cancel extends Steer {
    String action() {
      return "cancel";
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a job: no new batches are claimed; running ones finish.")
  static final class Pause extends Steer {
    String action() {
      return "pause";
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused job.")
  static final class Resume extends Steer {
    String action() {
      return "resume";
    }
  }

  @Command(name = "retry", mixinStandardHelpOptions = true, description = "Retry a job's DEAD batches with a fresh attempt budget.")
  static final class Retry extends Steer {
    String action() {
      return "retry";
    }
  }
}
