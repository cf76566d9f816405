package dev.nightshift.server.security;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import dev.nightshift.server.system.ProblemException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The audit trail over the API (ADMIN only), newest first, keyset paged by {@code before}. */
@Tag(name = "audit", description = "The audit trail (ADMIN only)")
@RestController
class AuditController {
  private final AuditLog audit;

  AuditController(AuditLog audit) {
    this.audit = audit;
  }

  @Operation(
      summary = "Read the audit trail",
      description = "Every state-changing request (API writes, dashboard actions, Git pushes): who, how, the method and endpoint pattern as action, the concrete path as target, status and outcome; newest first, keyset paged: pass nextBefore as before for the next page.",
      responses = {
        @ApiResponse(responseCode = "200", description = "items and nextBefore (null on the last page)"),
        @ApiResponse(responseCode = "400", description = "limit outside 1..1000, or since is not an instant")
      })
  @GetMapping("/api/v1/audit")
  Map<String, Object> list(
      @Parameter(description = "only entries by this user (exact name)", example = "admin") @RequestParam(required = false) String actor,
      @Parameter(description = "only entries whose action (method and endpoint pattern) contains this", example = "cancel") @RequestParam(required = false) String action,
      @Parameter(description = "only entries whose target (the concrete path) contains this", example = "/api/v1/jobs/42") @RequestParam(required = false) String target,
      @Parameter(description = "only entries at or after this instant", example = "2026-01-31T20:00:00Z") @RequestParam(required = false) String since,
      @Parameter(description = "only entries with an id below this (the previous page's nextBefore)") @RequestParam(required = false) Long before,
      @Parameter(description = "page size, 1..1000") @RequestParam(defaultValue = "100") int limit) {
    if (limit < 1 || limit > 1000) {
      throw ProblemException.badRequest("limit must be between 1 and 1000 (got " + limit + ")");
    }
    Instant from;
    try {
      from = since == null || since.isBlank() ? null : Instant.parse(since.strip());
    } catch (DateTimeParseException e) {
      throw ProblemException.badRequest("since must be an instant such as 2026-01-31T20:00:00Z (got '" + since + "')");
    }
    List<AuditLog.Entry> items = audit.find(new AuditLog.Filter(actor, action, target, from, before, limit));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("items", items);
    body.put("nextBefore", items.size() == limit ? items.get(items.size() - 1).id() : null);
    return body;
  }
}
