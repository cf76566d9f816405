package dev.nightshift.server.workers;

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

  @GetMapping("/workers")
  Map<String, List<WorkerQueries.WorkerView>> list() {
    return Map.of("items", queries.list());
  }

  @GetMapping("/workers/{id}")
  WorkerQueries.WorkerView get(@PathVariable String id) {
    return queries.get(id);
  }

  /** Drain: the worker finishes its running batches and claims no new ones until resumed. */
  @PostMapping("/workers/{id}/drain")
  WorkerQueries.WorkerView drain(@PathVariable String id, Principal user) {
    workers.drain(id, user.getName());
    return queries.get(id);
  }

  /**
   * Revokes the worker: every call with its token is refused (401) at once and its leases are requeued. It stays
   * listed, as DISABLED; an agent on that machine must enroll again to come back (as a new worker).
   */
  @PostMapping("/workers/{id}/revoke")
  WorkerQueries.WorkerView revoke(@PathVariable String id, Principal user) {
    workers.revoke(id, user.getName());
    return queries.get(id);
  }

  /** The same as revoke (the worker's history stays; it is listed as DISABLED). */
  @DeleteMapping("/workers/{id}")
  WorkerQueries.WorkerView delete(@PathVariable String id, Principal user) {
    return revoke(id, user);
  }

  /**
   * Sets the worker's labels (the whole map), e.g. {@code {"secure-zone": "finance"}}: reserved labels can be given
   * only this way. Re-enrolling makes a new worker, which needs them again.
   */
  @org.springframework.web.bind.annotation.PutMapping("/workers/{id}/labels")
  WorkerQueries.WorkerView setLabels(@PathVariable String id, @RequestBody JsonNode body) {
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

  /** Undoes a drain: the worker claims again after its next heartbeat. */
  @PostMapping("/workers/{id}/resume")
  WorkerQueries.WorkerView resume(@PathVariable String id, Principal user) {
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

  @GetMapping("/enrollment-tokens")
  Map<String, List<EnrollmentService.TokenView>> tokens() {
    return Map.of("items", enrollment.list());
  }

  @DeleteMapping("/enrollment-tokens/{id}")
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void revoke(@PathVariable long id) {
    enrollment.revoke(id);
  }
}
