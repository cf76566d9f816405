package dev.nightshift.server.security;

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
@RestController
class AuditController {
  private final AuditLog audit;

  AuditController(AuditLog audit) {
    this.audit = audit;
  }

  @GetMapping("/api/v1/audit")
  Map<String, Object> list(
      @RequestParam(required = false) String actor,
      @RequestParam(required = false) String action,
      @RequestParam(required = false) String target,
      @RequestParam(required = false) String since,
      @RequestParam(required = false) Long before,
      @RequestParam(defaultValue = "100") int limit) {
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
