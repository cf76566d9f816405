package dev.nightshift.server.workers;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import dev.nightshift.server.system.JsonBodies;
import dev.nightshift.server.system.ProblemException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Admin API for workers and enrollment tokens. */
@Tag(name = "workers", description = "Workers (enrolled agents) and enrollment tokens")
@RestController
@RequestMapping("/api/v1")
class WorkerController {
  private final WorkerQueries queries;
  private final EnrollmentService enrollment;
  private final WorkerService workers;
  private final JsonMapper json;

  WorkerController(WorkerQueries queries, EnrollmentService enrollment, WorkerService workers, JsonMapper json) {
    this.queries = queries;
    this.enrollment = enrollment;
    this.workers = workers;
    this.json = json;
  }

  @Operation(
      summary = "List workers",
      description = "Every enrolled worker with its state, slots, labels, last heartbeat, running batches and reference-data state; revoked ones as DISABLED.",
      responses = {
        @ApiResponse(responseCode = "200", description = "items: the workers")
      })
  @GetMapping("/workers")
  Map<String, List<WorkerQueries.WorkerView>> list() {
    return Map.of("items", queries.list());
  }

  @Operation(
      summary = "Get a worker",
      description = "One worker with its state, slots, labels, last heartbeat and running batches.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker"),
        @ApiResponse(responseCode = "404", description = "no worker with this id")
      })
  @GetMapping("/workers/{id}")
  WorkerQueries.WorkerView get(@Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id) {
    return queries.get(id);
  }

  /** Drain: the worker finishes its running batches and claims no new ones until resumed. */
  @Operation(
      summary = "Drain a worker",
      description = "The worker finishes its running batches and claims no new ones until resumed. Audited.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker after the change"),
        @ApiResponse(responseCode = "404", description = "no worker with this id")
      })
  @PostMapping("/workers/{id}/drain")
  WorkerQueries.WorkerView drain(@Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id, Principal user) {
    workers.drain(id, user.getName());
    return queries.get(id);
  }

  /**
   * Revokes the worker: every call with its token is refused (401) at once and its leases are requeued. It stays
   * listed, as DISABLED; an agent on that machine must enroll again to come back (as a new worker).
   */
  @Operation(
      summary = "Revoke a worker",
      description = "Every call with the worker's token is refused (401) at once and its leases are requeued. It stays listed as DISABLED; an agent on that machine must enroll again (as a new worker). Audited.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker after the change"),
        @ApiResponse(responseCode = "404", description = "no worker with this id")
      })
  @PostMapping("/workers/{id}/revoke")
  WorkerQueries.WorkerView revoke(@Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id, Principal user) {
    workers.revoke(id, user.getName());
    return queries.get(id);
  }

  /** The same as revoke (the worker's history stays; it is listed as DISABLED). */
  @Operation(
      summary = "Revoke a worker (DELETE)",
      description = "The same as POST /api/v1/workers/{id}/revoke: the worker's history stays and it is listed as DISABLED.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker after the change"),
        @ApiResponse(responseCode = "404", description = "no worker with this id")
      })
  @DeleteMapping("/workers/{id}")
  WorkerQueries.WorkerView delete(@Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id, Principal user) {
    return revoke(id, user);
  }

  /**
   * Sets the worker's labels (the whole map), e.g. {@code {"secure-zone": "finance"}}: reserved labels can be given
   * only this way. Re-enrolling makes a new worker, which needs them again.
   */
  @Operation(
      summary = "Set a worker's labels",
      description = "Replaces the worker's labels with the given map. Labels listed in"
          + " nightshift.security.reserved-labels (e.g. secure-zone) can be given only this way: an agent that declares"
          + " them itself has them dropped at enrollment. Re-enrolling makes a new worker, which needs them again.",
      requestBody =
          @io.swagger.v3.oas.annotations.parameters.RequestBody(
              description = "the whole label map: names to string values",
              content =
                  @io.swagger.v3.oas.annotations.media.Content(
                      mediaType = "application/json",
                      examples =
                          @io.swagger.v3.oas.annotations.media.ExampleObject(
                              name = "finance zone", value = "{\"secure-zone\": \"finance\", \"os\": \"linux\"}"))),
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker with its new labels"),
        @ApiResponse(responseCode = "400", description = "not a JSON object of strings, or a bad label name or value"),
        @ApiResponse(responseCode = "404", description = "no worker with this id")
      })
  @org.springframework.web.bind.annotation.PutMapping("/workers/{id}/labels")
  WorkerQueries.WorkerView setLabels(
      @Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id,
      @RequestBody JsonNode body) {
    if (body == null || !body.isObject()) {
      throw ProblemException.badRequest("send the labels as a JSON object, e.g. {\"secure-zone\": \"finance\"}");
    }
    Map<String, String> labels = new java.util.LinkedHashMap<>();
    for (var e : body.properties()) {
      if (!e.getValue().isString()) {
        throw ProblemException.badRequest("label '" + e.getKey() + "' must be a string");
      }
      labels.put(e.getKey(), e.getValue().asString());
    }
    workers.setLabels(id, labels);
    return queries.get(id);
  }

  /** Approves a worker enrolled while approval was required: it claims from its next call on. */
  @Operation(
      summary = "Approve a worker's enrollment",
      description = "With nightshift.security.enrollment-approval=true a newly enrolled worker claims nothing until"
          + " an admin approves it here (or on the dashboard's Workers page); it claims from its next call on."
          + " Repeats are harmless. Audited.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker after the change"),
        @ApiResponse(responseCode = "404", description = "no worker with this id"),
        @ApiResponse(responseCode = "409", description = "the worker is revoked: it must enroll again")
      })
  @PostMapping("/workers/{id}/approve")
  WorkerQueries.WorkerView approve(@Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id, Principal user) {
    workers.approve(id, user.getName());
    return queries.get(id);
  }

  /** Undoes a drain: the worker claims again after its next heartbeat. */
  @Operation(
      summary = "Resume a drained worker",
      description = "Undoes a drain: the worker claims again after its next heartbeat. Audited.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker after the change"),
        @ApiResponse(responseCode = "404", description = "no worker with this id"),
        @ApiResponse(responseCode = "409", description = "the worker awaits approval, not a resume")
      })
  @PostMapping("/workers/{id}/resume")
  WorkerQueries.WorkerView resume(@Parameter(description = "the worker's id", example = "w-7f3a") @PathVariable String id, Principal user) {
    workers.resume(id, user.getName());
    return queries.get(id);
  }

  /**
   * A new enrollment token.
   *
   * @param description what the token is for
   * @param expiresInHours hours until it expires; null = never
   * @param maxUses how many agents may enroll with it; null = no limit
   */
  record NewEnrollmentToken(String description, Long expiresInHours, Integer maxUses) {}

  /** The longest an enrollment token may be valid: ten years. */
  static final long MAX_EXPIRES_IN_HOURS = 10L * 366 * 24;

  @Operation(
      summary = "Create an enrollment token",
      description = "A token agents enroll with (nightshift-agent --enrollment-token). The answer is the only time the token itself is shown. The body is optional: no body means no description, no expiry, no use limit.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = false,
          description = "description, expiresInHours (null: never), maxUses (null: no limit)",
          content = @Content(
              mediaType = "application/json",
              schema = @Schema(implementation = NewEnrollmentToken.class),
              examples = {
                  @ExampleObject(name = "office", value = """
                      {"description": "office desktops", "expiresInHours": 48, "maxUses": 20}"""),
                  @ExampleObject(name = "empty", value = """
                      {}""")
              })),
      responses = {
        @ApiResponse(responseCode = "201", description = "the token (shown once), its id, expiry and use limit"),
        @ApiResponse(responseCode = "400", description = "description over 200 characters or with control characters, expiresInHours outside 1..87840, maxUses below 1, or an unknown field")
      })
  @PostMapping("/enrollment-tokens")
  @ResponseStatus(HttpStatus.CREATED)
  EnrollmentService.Created create(@RequestBody(required = false) JsonNode body, Principal user) {
    NewEnrollmentToken r =
        body == null || body.isNull()
            ? new NewEnrollmentToken(null, null, null)
            : JsonBodies.read(json, body, NewEnrollmentToken.class);
    if (r.description() != null && r.description().length() > 200) {
      throw ProblemException.badRequest("description must be at most 200 characters");
    }
    String bad = dev.nightshift.server.system.Text.nameProblem("description", r.description());
    if (bad != null) {
      throw ProblemException.badRequest(bad);
    }
    if (r.expiresInHours() != null && (r.expiresInHours() < 1 || r.expiresInHours() > MAX_EXPIRES_IN_HOURS)) {
      throw ProblemException.badRequest(
          "expiresInHours must be between 1 and " + MAX_EXPIRES_IN_HOURS + " (ten years), or left out for no expiry"
              + " (got " + r.expiresInHours() + ")");
    }
    return enrollment.create(
        r.description(),
        r.expiresInHours() == null ? null : Duration.ofHours(r.expiresInHours()),
        r.maxUses(),
        user.getName());
  }

  @Operation(
      summary = "List enrollment tokens",
      description = "Every enrollment token with its description, expiry, uses and whether it was revoked (never the token itself).",
      responses = {
        @ApiResponse(responseCode = "200", description = "items: the tokens")
      })
  @GetMapping("/enrollment-tokens")
  Map<String, List<EnrollmentService.TokenView>> tokens() {
    return Map.of("items", enrollment.list());
  }

  @Operation(
      summary = "Revoke an enrollment token",
      description = "No agent can enroll with it afterwards; workers already enrolled with it keep working.",
      responses = {
        @ApiResponse(responseCode = "204", description = "revoked"),
        @ApiResponse(responseCode = "404", description = "no enrollment token with this id")
      })
  @DeleteMapping("/enrollment-tokens/{id}")
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void revoke(@Parameter(description = "the enrollment token's id", example = "3") @PathVariable long id) {
    enrollment.revoke(id);
  }
}
