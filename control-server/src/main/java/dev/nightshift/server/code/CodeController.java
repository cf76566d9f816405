package dev.nightshift.server.code;

import java.security.Principal;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import dev.nightshift.server.system.JsonBodies;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Admin API for the processing code: the current release, its history, promotions and rollbacks. */
@RestController
@RequestMapping("/api/v1/code")
class CodeController {
  private final ReleaseService releases;
  private final JsonMapper json;

  CodeController(ReleaseService releases, JsonMapper json) {
    this.releases = releases;
    this.json = json;
  }

  /**
   * A promotion request.
   *
   * @param ref a branch or tag to promote, e.g. {@code main}
   * @param commit a commit id to promote (instead of ref)
   * @param rollback allow a move that is not a fast-forward (rolling back)
   */
  record Promotion(String ref, String commit, Boolean rollback) {}

  @GetMapping
  Map<String, Object> code(@RequestParam(defaultValue = "50") int limit) {
    List<ReleaseService.Release> history = releases.history(Math.max(1, Math.min(limit, 500)));
    Map<String, Object> body = new java.util.LinkedHashMap<>();
    body.put("repository", "/git/code.git");
    body.put("current", history.isEmpty() ? null : history.get(0));
    body.put("history", history);
    return body;
  }

  @PostMapping("/promotions")
  @ResponseStatus(HttpStatus.CREATED)
  ReleaseService.Release promote(@RequestBody JsonNode body, Principal user) {
    Promotion request = JsonBodies.read(json, body, Promotion.class);
    return releases.promote(
        blankToNull(request.ref()),
        blankToNull(request.commit()),
        Boolean.TRUE.equals(request.rollback()),
        user.getName());
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
