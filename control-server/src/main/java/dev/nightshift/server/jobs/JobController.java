package dev.nightshift.server.jobs;

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
          "csvHeader");
  private final JobService jobs;
  private final JobQueries queries;
  private final JsonMapper json;

  JobController(JobService jobs, JobQueries queries, JsonMapper json) {
    this.jobs = jobs;
    this.queries = queries;
    this.json = json;
  }

  @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<JobQueries.JobView> submit(@RequestBody JsonNode body, Principal user) {
    JobSubmission submission = JsonBodies.read(json, body, JobSubmission.class);
    JobSpec spec = submission.validate(false);
    long id = jobs.submit(spec, submission.items(), submission.range(), user.getName());
    return created(id);
  }

  @PostMapping(consumes = NDJSON)
  ResponseEntity<JobQueries.JobView> submitStream(
      @RequestParam MultiValueMap<String, String> params, HttpServletRequest request, Principal user)
      throws IOException {
    return upload(params, request, user, false);
  }

  /** CSV: a header row names the fields of one JSON object per row; {@code csvHeader=false} takes raw lines. */
  @PostMapping(consumes = "text/csv")
  ResponseEntity<JobQueries.JobView> submitCsv(
      @RequestParam MultiValueMap<String, String> params, HttpServletRequest request, Principal user)
      throws IOException {
    return upload(params, request, user, true);
  }

  private ResponseEntity<JobQueries.JobView> upload(
      MultiValueMap<String, String> params, HttpServletRequest request, Principal user, boolean csv)
      throws IOException {
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
            params.getFirst("retention"));
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

  @GetMapping
  JobQueries.JobPage list(
      @RequestParam(required = false) String state,
      @RequestParam(required = false) Long before,
      @RequestParam(defaultValue = "50") int limit) {
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

  @GetMapping("/{id}")
  JobQueries.JobView get(@PathVariable long id) {
    JobQueries.JobView job = queries.get(id);
    return isAdmin() ? job : job.withEnvMasked();
  }

  @PostMapping("/{id}/cancel")
  JobQueries.JobView cancel(@PathVariable long id) {
    jobs.cancel(id);
    return queries.get(id);
  }

  @PostMapping("/{id}/pause")
  JobQueries.JobView pause(@PathVariable long id) {
    jobs.pause(id);
    return queries.get(id);
  }

  @PostMapping("/{id}/resume")
  JobQueries.JobView resume(@PathVariable long id) {
    jobs.resume(id);
    return queries.get(id);
  }

  @PostMapping("/{id}/retry")
  JobQueries.JobView retry(@PathVariable long id) {
    jobs.retry(id);
    return queries.get(id);
  }
}
