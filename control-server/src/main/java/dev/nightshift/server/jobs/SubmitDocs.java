package dev.nightshift.server.jobs;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.http.MediaType;

/**
 * The OpenAPI description of {@code POST /api/v1/jobs}, on each of its three handlers (JSON, NDJSON, CSV): springdoc
 * merges handlers that share a path and method into one operation, and keeps what each says only if all say the same.
 * The query parameters of the streamed uploads are {@link StreamParameters}, on one handler (declared on all three,
 * springdoc warns of duplicates at every request for the document).
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Operation(
    summary = "Submit a job",
    description = "One operation, three bodies (Content-Type picks): application/json carries the job's fields and"
        + " its items (any JSON values) or a range; application/x-ndjson (one JSON value per line) and text/csv (a"
        + " header row naming the fields of one JSON object per row; csvHeader=false: each line one string item)"
        + " stream large inputs, the job's fields as query parameters, env and label repeatable as KEY=value."
        + " Streamed bodies are cut into batches as they arrive; a bad line is refused with its number and nothing"
        + " of the job is kept. Unknown fields and query parameters are refused. See docs/api.md.",
    requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
        required = true,
        description = "JSON: the job (name, command or entryPoint with args, batchSize, items or range; optional priority, maxAttempts,"
            + " timeoutSeconds, maxParallel, env, labels, commit, maxDataLagSeconds, minDataPosition, retention);"
            + " NDJSON or CSV: the items only, the job's fields as query parameters",
        content = {
          @Content(
              mediaType = MediaType.APPLICATION_JSON_VALUE,
              schema = @Schema(implementation = JobSubmission.class),
              examples = {
                @ExampleObject(name = "items", summary = "items as JSON values", value = """
                    {"name": "geocode", "command": "php geocode.php", "batchSize": 100,
                     "items": [{"id": 1, "addr": "Main St 1"}, {"id": 2, "addr": "Main St 2"}],
                     "priority": 10, "maxAttempts": 3, "timeoutSeconds": 600, "maxParallel": 20,
                     "env": {"DB_HOST": "replica"}, "secrets": {"DB_PASSWORD": "correct horse battery"},
                     "labels": {"os": "linux"}}"""),
                @ExampleObject(name = "range", summary = "a range of numbers, end exclusive", value = """
                    {"name": "scan", "command": "sh scan.sh", "batchSize": 1000, "range": {"start": 0, "end": 1000000}}"""),
                @ExampleObject(name = "entryPoint", summary = "an entry point of the signed release's nightshift.json", value = """
                    {"name": "geocode", "entryPoint": "process", "args": ["--country", "FR"], "batchSize": 100, "items": [1, 2, 3]}""")
              }),
          @Content(
              mediaType = JobController.NDJSON,
              schema = @Schema(type = "string", description = "one JSON value per line"),
              examples = @ExampleObject(name = "lines", value = "{\"id\": 1}\n{\"id\": 2}\n3\n")),
          @Content(
              mediaType = "text/csv",
              schema = @Schema(type = "string", description = "a header row, then one row per item"),
              examples = @ExampleObject(name = "rows", value = "id,name\r\n1,\"Smith, Bob\"\r\n2,Ann\r\n"))
        }),
    responses = {
      @ApiResponse(responseCode = "201", description = "created; Location: /api/v1/jobs/{id}; the job"),
      @ApiResponse(responseCode = "400", description = "a field is missing or invalid, an unknown field or query parameter, a bad line (with its number), a commit not in /git/code.git"),
      @ApiResponse(responseCode = "409", description = "no code promoted yet and no commit given"),
      @ApiResponse(responseCode = "413", description = "the body is larger than the server accepts"),
      @ApiResponse(responseCode = "415", description = "a Content-Type other than application/json, application/x-ndjson or text/csv")
    })
@interface SubmitDocs {}

/** The query parameters of the streamed uploads (NDJSON, CSV) of {@code POST /api/v1/jobs}. */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@io.swagger.v3.oas.annotations.Parameters({
  @Parameter(name = "name", in = ParameterIn.QUERY, description = "the job's name, up to 200 characters (required on streamed uploads)", example = "big"),
  @Parameter(name = "command", in = ParameterIn.QUERY, description = "shell command run for each batch (this or entryPoint)", example = "wc -l"),
  @Parameter(name = "entryPoint", in = ParameterIn.QUERY, description = "an entry point of the release's nightshift.json, run instead of a command", example = "process"),
  @Parameter(name = "arg", in = ParameterIn.QUERY, description = "an argument for the entry point, repeatable, in order", example = "--fast"),
  @Parameter(name = "batchSize", in = ParameterIn.QUERY, description = "items per batch, 1-1,000,000 (required on streamed uploads)", example = "1000"),
  @Parameter(name = "priority", in = ParameterIn.QUERY, description = "-1000..1000, higher runs first (default 0)"),
  @Parameter(name = "maxAttempts", in = ParameterIn.QUERY, description = "failed runs before a batch is DEAD (default 3)"),
  @Parameter(name = "timeoutSeconds", in = ParameterIn.QUERY, description = "per batch (default 3600)"),
  @Parameter(name = "maxParallel", in = ParameterIn.QUERY, description = "most batches of this job leased at once"),
  @Parameter(name = "env", in = ParameterIn.QUERY, description = "extra environment, KEY=value, repeatable", example = "MODE=fast"),
  @Parameter(name = "label", in = ParameterIn.QUERY, description = "required agent label, key=value, repeatable", example = "os=linux"),
  @Parameter(name = "commit", in = ParameterIn.QUERY, description = "pin the job to this commit"),
  @Parameter(name = "maxDataLagSeconds", in = ParameterIn.QUERY, description = "only workers whose reference-data replica is at most this far behind"),
  @Parameter(name = "minDataPosition", in = ParameterIn.QUERY, description = "only workers whose replica has applied this GTID position"),
  @Parameter(name = "retention", in = ParameterIn.QUERY, description = "how long inputs, results and attempts are kept after the job ends (7d, 12h, 90m)"),
  @Parameter(name = "csvHeader", in = ParameterIn.QUERY, description = "CSV only: false takes each line as one string item (default true: a header row names the fields)")
})
@interface StreamParameters {}
