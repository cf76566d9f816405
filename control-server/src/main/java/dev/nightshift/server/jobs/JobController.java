package dev.nightshift.server.jobs;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import dev.nightshift.protocol.JobState;
import dev.nightshift.server.system.JsonBodies;
import dev.nightshift.server.system.ProblemException;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.net.URI;
import java.security.Principal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Admin API for jobs: submit (JSON, or streamed NDJSON or CSV), watch, steer. */
@Tag(name = "jobs", description = "Submit jobs (JSON, NDJSON or CSV), watch and steer them")
@RestController
@RequestMapping("/api/v1/jobs")
class JobController {
  static final String NDJSON = "application/x-ndjson";
  private static final Set<String> STREAM_PARAMS =
      Set.of(
          "name",
          "command",
          "batchSize",
          "priority",
          "maxAttempts",
          "timeoutSeconds",
          "maxParallel",
          "env",
          "label",
          "commit",
          "maxDataLagSeconds",
          "minDataPosition",
          "retention",
          "csvHeader",
          "entryPoint",
          "arg");
  private final JobService jobs;
  private final JobQueries queries;
  private final JsonMapper json;

  JobController(JobService jobs, JobQueries queries, JsonMapper json) {
    this.jobs = jobs;
    this.queries = queries;
    this.json = json;
  }

  @SubmitDocs
  @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<JobQueries.JobView> submit(@RequestBody JsonNode body, Principal user) {
    JobSubmission submission = JsonBodies.read(json, body, JobSubmission.class);
    JobSpec spec = submission.validate(false);
    long id = jobs.submit(spec, submission.items(), submission.range(), user.getName());
    return created(id);
  }

  @SubmitDocs
  @StreamParameters
  @PostMapping(consumes = NDJSON)
  ResponseEntity<JobQueries.JobView> submitStream(
      @Parameter(hidden = true) @RequestParam MultiValueMap<String, String> params, HttpServletRequest request, Principal user)
      throws IOException {
    return upload(params, request, user, false);
  }

  /** CSV: a header row names the fields of one JSON object per row; {@code csvHeader=false} takes raw lines. */
  @SubmitDocs
  @PostMapping(consumes = "text/csv")
  ResponseEntity<JobQueries.JobView> submitCsv(
      @Parameter(hidden = true) @RequestParam MultiValueMap<String, String> params, HttpServletRequest request, Principal user)
      throws IOException {
    return upload(params, request, user, true);
  }

  private ResponseEntity<JobQueries.JobView> upload(
      MultiValueMap<String, String> params, HttpServletRequest request, Principal user, boolean csv)
      throws IOException {
    if (params.containsKey("secret") || params.containsKey("secrets")) {
      throw ProblemException.badRequest(
          "secrets are never taken from a URL (proxies and logs keep URLs): send each as a header "
              + SECRET_HEADER + ": NAME=value, or submit the job as JSON with \"secrets\"");
    }
    Set<String> unknown = new TreeSet<>(params.keySet());
    unknown.removeAll(STREAM_PARAMS);
    if (!unknown.isEmpty()) {
      throw ProblemException.badRequest(
          "unknown query parameter(s) " + unknown + "; known are " + new TreeSet<>(STREAM_PARAMS));
    }
    JobSubmission submission =
        new JobSubmission(
            params.getFirst("name"),
            params.getFirst("command"),
            integer(params, "batchSize"),
            null,
            null,
            integer(params, "priority"),
            integer(params, "maxAttempts"),
            integer(params, "timeoutSeconds"),
            integer(params, "maxParallel"),
            pairs(params, "env"),
            pairs(params, "label"),
            params.getFirst("commit"),
            integer(params, "maxDataLagSeconds") == null ? null : (long) integer(params, "maxDataLagSeconds"),
            params.getFirst("minDataPosition"),
            params.getFirst("retention"),
            secretHeaders(request),
            params.getFirst("entryPoint"),
            params.get("arg"));
    JobSpec spec;
    long id;
    try {
      Boolean header = bool(params, "csvHeader");
      if (header != null && !csv) {
        throw ProblemException.badRequest("csvHeader applies only to CSV uploads (Content-Type text/csv)");
      }
      spec = submission.validate(true);
      id =
          csv
              ? jobs.submitCsv(spec, request.getInputStream(), header == null || header, user.getName())
              : jobs.submitStream(spec, request.getInputStream(), user.getName());
    } catch (ProblemException refused) {
      drain(request.getInputStream());
      throw refused;
    }
    return created(id);
  }

  /**
   * Reads what is left of a refused upload before answering. The server closes the connection after a 400, and
   * unread request bytes turn that close into a TCP reset that loses the answer for clients still sending.
   */
  private static void drain(java.io.InputStream in) {
    byte[] buf = new byte[64 * 1024];
    try {
      while (in.read(buf) >= 0) {
        // discard
      }
    } catch (IOException e) {
      // the body passed its size limit or the client went away: nothing left to protect
    }
  }

  private ResponseEntity<JobQueries.JobView> created(long id) {
    return ResponseEntity.created(URI.create("/api/v1/jobs/" + id)).body(queries.get(id));
  }

  private static Integer integer(MultiValueMap<String, String> params, String name) {
    String value = params.getFirst(name);
    if (value == null || value.isBlank()) {
      return null;
    }
    try {
      if (!value.matches("-?[0-9]{1,10}")) {
        throw new NumberFormatException(value);
      }
      return Integer.valueOf(value);
    } catch (NumberFormatException e) {
      throw ProblemException.badRequest(
          "query parameter " + name + " must be a whole number in decimal digits (got '" + value + "')");
    }
  }

  private static Boolean bool(MultiValueMap<String, String> params, String name) {
    String value = params.getFirst(name);
    if (value == null) {
      return null;
    }
    return switch (value.strip().toLowerCase()) {
      case "true" -> true;
      case "false" -> false;
      default -> throw ProblemException.badRequest(
          "query parameter " + name + " must be true or false (got '" + value + "')");
    };
  }

  /** The header that carries a streamed upload's secrets, one {@code NAME=value} each (repeatable). */
  static final String SECRET_HEADER = "Nightshift-Secret";

  private static Map<String, String> secretHeaders(HttpServletRequest request) {
    var headers = request.getHeaders(SECRET_HEADER);
    if (headers == null || !headers.hasMoreElements()) {
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    while (headers.hasMoreElements()) {
      String v = headers.nextElement();
      int eq = v.indexOf('=');
      if (eq <= 0) {
        throw ProblemException.badRequest("header " + SECRET_HEADER + " must look like NAME=value (got a value"
            + " without '=' or without a name)"); // the value itself is never echoed: it may be the secret
      }
      out.put(v.substring(0, eq), v.substring(eq + 1));
    }
    return out;
  }

  private static Map<String, String> pairs(MultiValueMap<String, String> params, String name) {
    List<String> values = params.get(name);
    if (values == null) {
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : values) {
      int eq = v.indexOf('=');
      if (eq <= 0) {
        throw ProblemException.badRequest("query parameter " + name + " must look like KEY=value (got '" + v + "')");
      }
      out.put(v.substring(0, eq), v.substring(eq + 1));
    }
    return out;
  }

  @Operation(
      summary = "List jobs",
      description = "Newest first, keyset paged: pass the page's nextBefore as before for the next page.",
      responses = {
        @ApiResponse(responseCode = "200", description = "a page of jobs"),
        @ApiResponse(responseCode = "400", description = "state is not a job state, or limit is outside 1..500")
      })
  @GetMapping
  JobQueries.JobPage list(
      @Parameter(description = "only jobs in this state (QUEUED, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED)", example = "RUNNING")
          @RequestParam(required = false) String state,
      @Parameter(description = "only jobs with an id below this (the previous page's nextBefore)") @RequestParam(required = false) Long before,
      @Parameter(description = "page size, 1..500") @RequestParam(defaultValue = "50") int limit) {
    if (limit < 1 || limit > 500) {
      throw ProblemException.badRequest("limit must be between 1 and 500");
    }
    JobQueries.JobPage page = queries.list(state == null ? null : state(state), before, limit);
    return isAdmin() ? page : new JobQueries.JobPage(
        page.items().stream().map(JobQueries.JobView::withEnvMasked).toList(), page.nextBefore());
  }

  /**
   * Job {@code env} is how secrets reach scripts: only ADMIN (who may submit jobs anyway) reads its values;
   * OPERATOR and API tokens with the OPERATOR role see the keys with {@code ***}.
   */
  private static boolean isAdmin() {
    var auth = org.springframework.security.core.context.SecurityContextHolder.getContext().getAuthentication();
    return auth != null && auth.getAuthorities().stream().anyMatch(a -> a.getAuthority().equals("ROLE_ADMIN"));
  }

  static JobState state(String value) {
    try {
      return JobState.valueOf(value.trim().toUpperCase());
    } catch (IllegalArgumentException e) {
      throw ProblemException.badRequest(
          "state '" + value + "' is not a job state; use one of " + Arrays.toString(JobState.values()));
    }
  }

  @Operation(
      summary = "Get a job",
      description = "The job with its state, counts of batches by state, progress, rate and ETA, and purgeAfter.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the job"),
        @ApiResponse(responseCode = "404", description = "no job with this id")
      })
  @GetMapping("/{id}")
  JobQueries.JobView get(@Parameter(description = "the job's id", example = "42") @PathVariable long id) {
    JobQueries.JobView job = queries.get(id);
    return isAdmin() ? job : job.withEnvMasked();
  }

  @Operation(
      summary = "Cancel a job",
      description = "Pending batches are cancelled and running leases are told to stop at their next heartbeat. Answers the job as it is afterwards.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the job after the change"),
        @ApiResponse(responseCode = "404", description = "no job with this id"),
        @ApiResponse(responseCode = "409", description = "the job has already SUCCEEDED or FAILED (cancelling a CANCELLED job answers 200)")
      })
  @PostMapping("/{id}/cancel")
  JobQueries.JobView cancel(@Parameter(description = "the job's id", example = "42") @PathVariable long id) {
    jobs.cancel(id);
    return queries.get(id);
  }

  @Operation(
      summary = "Pause a job",
      description = "No new batches of the job are leased; running ones finish. Answers the job as it is afterwards.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the job after the change"),
        @ApiResponse(responseCode = "404", description = "no job with this id"),
        @ApiResponse(responseCode = "409", description = "the job cannot be paused in its state (it has ended)")
      })
  @PostMapping("/{id}/pause")
  JobQueries.JobView pause(@Parameter(description = "the job's id", example = "42") @PathVariable long id) {
    jobs.pause(id);
    return queries.get(id);
  }

  @Operation(
      summary = "Resume a job",
      description = "A paused job's batches are leased again. Answers the job as it is afterwards.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the job after the change"),
        @ApiResponse(responseCode = "404", description = "no job with this id"),
        @ApiResponse(responseCode = "409", description = "the job has ended (only a PAUSED job can be resumed; QUEUED and RUNNING answer 200 unchanged)")
      })
  @PostMapping("/{id}/resume")
  JobQueries.JobView resume(@Parameter(description = "the job's id", example = "42") @PathVariable long id) {
    jobs.resume(id);
    return queries.get(id);
  }

  @Operation(
      summary = "Retry a job",
      description = "The job's DEAD batches go back to PENDING with fresh attempts; a FAILED job runs again. Answers the job as it is afterwards.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the job after the change"),
        @ApiResponse(responseCode = "404", description = "no job with this id"),
        @ApiResponse(responseCode = "409", description = "the job has no DEAD batches, is SUCCEEDED or CANCELLED, or was purged")
      })
  @PostMapping("/{id}/retry")
  JobQueries.JobView retry(@Parameter(description = "the job's id", example = "42") @PathVariable long id) {
    jobs.retry(id);
    return queries.get(id);
  }
}
