package dev.nightshift.server.code;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
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
@Tag(name = "code", description = "The processing code: current release, history, promotions and rollbacks")
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

  @Operation(
      summary = "Current release and history",
      description = "The Git repository agents fetch from (/git/code.git), the release current now, and the history of promotions, newest first.",
      responses = {
        @ApiResponse(responseCode = "200", description = "repository, current (null before the first promotion) and history"),
        @ApiResponse(responseCode = "400", description = "limit is not a whole number")
      })
  @GetMapping
  Map<String, Object> code(
      @Parameter(description = "most history entries, clamped to 1..500") @RequestParam(defaultValue = "50") int limit) {
    List<ReleaseService.Release> history = releases.history(Math.max(1, Math.min(limit, 500)));
    Map<String, Object> body = new java.util.LinkedHashMap<>();
    body.put("repository", "/git/code.git");
    body.put("current", history.isEmpty() ? null : history.get(0));
    body.put("history", history);
    return body;
  }

  @Operation(
      summary = "Promote a release",
      description = "Makes a branch, tag or commit of /git/code.git the current release (the worker branch). Batches claimed afterwards run it; parked claims are answered at once. A move that is not a fast-forward needs rollback=true.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "ref (a branch or tag) or commit, and rollback to allow a move back",
          content = @Content(
              mediaType = "application/json",
              schema = @Schema(implementation = Promotion.class),
              examples = {
                  @ExampleObject(name = "ref", value = """
                      {"ref": "main"}"""),
                  @ExampleObject(name = "rollback", value = """
                      {"commit": "3f2a9c1", "rollback": true}""")
              })),
      responses = {
        @ApiResponse(responseCode = "201", description = "the new current release"),
        @ApiResponse(responseCode = "400", description = "neither or both of ref and commit, an unknown field, or a malformed value"),
        @ApiResponse(responseCode = "404", description = "no such branch, tag or commit in /git/code.git"),
        @ApiResponse(responseCode = "409", description = "not a fast-forward of the current release (send rollback=true), or the commit is already current")
      })
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
