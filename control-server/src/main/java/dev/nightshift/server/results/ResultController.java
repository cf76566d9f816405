package dev.nightshift.server.results;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Streams a job's results: for each succeeded batch, in batch order, exactly what its script wrote to stdout
 * (a missing final newline is added so batches never run together). Reads in keyset pages: constant memory.
 * As CSV ({@code ?format=csv} or {@code Accept: text/csv}) each non-blank output line is a row: its position
 * (index, batch, line), then the fields of results that are JSON objects with scalar values, one column each, and
 * a {@code result} column with the line as sent for every other line.
 */
@Tag(name = "results", description = "A job's results, as NDJSON or CSV")
@RestController
class ResultController {
  private static final int PAGE = 200;
  /** More distinct fields than this and the lines that bring new ones go to the result column. */
  static final int MAX_COLUMNS = 500;
  private static final List<String> POSITION = List.of("index", "batch", "line");
  private static final MediaType NDJSON = MediaType.parseMediaType("application/x-ndjson;charset=UTF-8");
  private static final MediaType CSV = MediaType.parseMediaType("text/csv;charset=UTF-8");
  private final JdbcClient jdbc;
  private final JsonMapper json;

  ResultController(JdbcClient jdbc, JsonMapper json) {
    this.jdbc = jdbc;
    this.json = json;
  }

  private record Chunk(int seq, String output) {}

  private record JobRow(String state, Instant purgedAt, int batches, int succeeded, int dead, int cancelled) {}

  @Operation(
      summary = "Download a job's results",
      description = "For each succeeded batch, in batch order, what its script wrote to stdout (NDJSON by default;"
          + " CSV with format=csv or Accept: text/csv: index, batch, line, then the fields of flat JSON objects, and a"
          + " result column for other lines). Streamed in constant memory. Headers Nightshift-Job-State,"
          + " Nightshift-Batches and Nightshift-Batches-With-Result say how complete the answer is.",
      responses = {
        @ApiResponse(
            responseCode = "200",
            description = "the results",
            content = {
              @Content(mediaType = "application/x-ndjson", schema = @Schema(type = "string")),
              @Content(mediaType = "text/csv", schema = @Schema(type = "string"))
            }),
        @ApiResponse(responseCode = "400", description = "format is not ndjson or csv, or partial is not true or false"),
        @ApiResponse(responseCode = "404", description = "no job with this id"),
        @ApiResponse(responseCode = "409", description = "the job is FAILED or CANCELLED and some batches have no result: add partial=true for those that exist"),
        @ApiResponse(responseCode = "410", description = "the job's results were purged when its retention period ended")
      })
  @GetMapping("/api/v1/jobs/{id}/results")
  ResponseEntity<StreamingResponseBody> results(
      @Parameter(description = "the job's id", example = "42") @PathVariable long id,
      @Parameter(description = "ndjson (default) or csv; overrides Accept", example = "csv") @RequestParam(required = false) String format,
      @Parameter(description = "true: answer the results that exist of a FAILED or CANCELLED job instead of 409")
          @RequestParam(required = false) String partial,
      @Parameter(description = "text/csv asks for CSV when format is not given") @RequestHeader(value = "Accept", required = false) String accept) {
    boolean csv = csv(format, accept);
    boolean partialOk = partial(partial);
    JobRow job =
        jdbc.sql(
                "SELECT state, purged_at, batch_count, succeeded_count, dead_count, cancelled_count FROM job"
                    + " WHERE id = ?")
            .param(id)
            .query(
                (rs, n) ->
                    new JobRow(rs.getString(1), Times.instant(rs, "purged_at"), rs.getInt(3), rs.getInt(4),
                        rs.getInt(5), rs.getInt(6)))
            .optional()
            .orElseThrow(() -> ProblemException.notFound("job", id));
    if (job.purgedAt() != null) {
      throw new ProblemException(
          HttpStatus.GONE,
          "Results purged",
          "job " + id + "'s inputs, results and attempts were purged on " + job.purgedAt()
              + " when its retention period ended; the job's counters and versions are kept. Export results before"
              + " the purge (see the job's purgeAfter), or give a job a longer retention when submitting it");
    }
    boolean ended = job.state().equals("FAILED") || job.state().equals("CANCELLED");
    int missing = job.batches() - job.succeeded();
    if (ended && missing > 0 && !partialOk) {
      // An empty or short 200 would look like a complete result to a script; say what is missing instead.
      throw new ProblemException(
          HttpStatus.CONFLICT,
          "Results incomplete",
          "job " + id + " is " + job.state() + ": " + missing + " of " + job.batches() + " batch(es) have no result ("
              + job.dead() + " DEAD, " + job.cancelled() + " cancelled, " + (missing - job.dead() - job.cancelled())
              + " never finished); GET /api/v1/jobs/" + id + "/failures shows why they failed. Add ?partial=true to"
              + " download the " + job.succeeded() + " result(s) that exist");
    }
    StreamingResponseBody body = csv ? out -> writeCsv(id, out) : out -> write(id, out);
    return ResponseEntity.ok()
        .contentType(csv ? CSV : NDJSON)
        .header("Nightshift-Job-State", job.state())
        .header("Nightshift-Batches", Integer.toString(job.batches()))
        .header("Nightshift-Batches-With-Result", Integer.toString(job.succeeded()))
        .body(body);
  }

  private static boolean partial(String partial) {
    if (partial == null) {
      return false;
    }
    return switch (partial.strip().toLowerCase()) {
      case "true", "" -> true;
      case "false" -> false;
      default -> throw ProblemException.badRequest("partial must be true or false (got '" + partial + "')");
    };
  }

  private static boolean csv(String format, String accept) {
    if (format != null) {
      return switch (format.strip().toLowerCase()) {
        case "csv" -> true;
        case "ndjson" -> false;
        default -> throw ProblemException.badRequest("format must be ndjson or csv (got '" + format + "')");
      };
    }
    if (accept == null) {
      return false;
    }
    List<MediaType> types;
    try {
      types = MediaType.parseMediaTypes(accept);
    } catch (org.springframework.http.InvalidMediaTypeException e) {
      return false; // an Accept that names nothing valid asks for nothing in particular: the default, NDJSON
    }
    for (MediaType type : types) {
      if (type.isCompatibleWith(NDJSON) && !type.isWildcardType()) {
        return false;
      }
      if (type.getType().equals("text") && type.getSubtype().equals("csv")) {
        return true;
      }
    }
    return false;
  }

  /** Calls {@code each} with every batch's output, in batch order, a page at a time. */
  private void forEach(long jobId, ChunkSink each) throws IOException {
    int after = -1;
    while (true) {
      List<Chunk> page =
          jdbc.sql("SELECT seq, output FROM batch_result WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
              .params(jobId, after, PAGE)
              .query((rs, n) -> new Chunk(rs.getInt(1), rs.getString(2)))
              .list();
      for (Chunk c : page) {
        each.accept(c);
        after = c.seq;
      }
      if (page.size() < PAGE) {
        return;
      }
    }
  }

  private interface ChunkSink {
    void accept(Chunk chunk) throws IOException;
  }

  private void write(long jobId, OutputStream out) throws IOException {
    forEach(
        jobId,
        c -> {
          if (!c.output.isEmpty()) {
            out.write(c.output.getBytes(StandardCharsets.UTF_8));
            if (c.output.charAt(c.output.length() - 1) != '\n') {
              out.write('\n');
            }
          }
          out.flush();
        });
  }

  /** The output's non-blank lines, without line breaks. */
  private static List<String> lines(String output) {
    List<String> lines = new ArrayList<>();
    for (String line : output.split("\n", -1)) {
      if (line.endsWith("\r")) {
        line = line.substring(0, line.length() - 1);
      }
      if (!line.isBlank()) {
        lines.add(line);
      }
    }
    return lines;
  }

  /** The line as a JSON object with only scalar values, or null. */
  private JsonNode flat(String line) {
    if (!line.stripLeading().startsWith("{")) {
      return null;
    }
    try {
      JsonNode node = json.readTree(line);
      if (node == null || !node.isObject()) {
        return null;
      }
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        if (field.getValue().isContainer()) {
          return null;
        }
      }
      return node;
    } catch (JacksonException e) {
      return null;
    }
  }

  /**
   * Two passes over the results: the first finds the columns (fields of flat objects, and whether any line needs
   * the result column), the second writes the rows. Memory holds one page and the column names.
   */
  private void writeCsv(long jobId, OutputStream out) throws IOException {
    Set<String> fields = new LinkedHashSet<>();
    boolean[] other = {false};
    forEach(
        jobId,
        c -> {
          for (String line : lines(c.output)) {
            JsonNode node = flat(line);
            if (node == null) {
              other[0] = true;
              continue;
            }
            java.util.Collection<String> keys = node.propertyNames();
            if (!fields.containsAll(keys)) {
              if (fields.size() + keys.size() > MAX_COLUMNS) {
                other[0] = true;
                continue;
              }
              fields.addAll(keys);
            }
          }
        });
    List<String> header = new ArrayList<>(POSITION);
    for (String f : fields) {
      header.add(POSITION.contains(f) || f.equals("result") ? "result." + f : f);
    }
    if (other[0]) {
      header.add("result");
    }
    Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
    row(w, header);
    long[] index = {0};
    forEach(
        jobId,
        c -> {
          int lineNo = 0;
          for (String line : lines(c.output)) {
            lineNo++;
            List<String> cells = new ArrayList<>(header.size());
            cells.add(Long.toString(index[0]++));
            cells.add(Integer.toString(c.seq));
            cells.add(Integer.toString(lineNo));
            JsonNode node = flat(line);
            boolean asFields = node != null && fields.containsAll(node.propertyNames());
            for (String f : fields) {
              JsonNode v = asFields ? node.get(f) : null;
              cells.add(v == null || v.isNull() ? "" : v.asString());
            }
            if (other[0]) {
              cells.add(asFields ? "" : line);
            }
            row(w, cells);
          }
          w.flush();
        });
    w.flush();
  }

  private static void row(Writer w, List<String> cells) throws IOException {
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) {
        w.write(',');
      }
      w.write(quote(cells.get(i)));
    }
    w.write("\r\n");
  }

  /** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
  static String quote(String cell) {
    boolean needs = false;
    for (int i = 0; i < cell.length() && !needs; i++) {
      char c = cell.charAt(i);
      needs = c == ',' || c == '"' || c == '\n' || c == '\r';
    }
    return needs ? '"' + cell.replace("\"", "\"\"") + '"' : cell;
  }
}
