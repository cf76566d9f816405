package dev.nightshift.server.batches;

import dev.nightshift.protocol.BatchState;
import dev.nightshift.server.system.ProblemException;
import java.util.Arrays;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Admin API for batches and their attempts. */
@RestController
@RequestMapping("/api/v1")
class BatchController {
  private final BatchQueries queries;
  private final JdbcClient jdbc;

  BatchController(BatchQueries queries, JdbcClient jdbc) {
    this.queries = queries;
    this.jdbc = jdbc;
  }

  @GetMapping("/jobs/{id}/batches")
  BatchQueries.BatchPage forJob(
      @PathVariable long id,
      @RequestParam(required = false) String state,
      @RequestParam(required = false) Integer after,
      @RequestParam(defaultValue = "100") int limit) {
    if (limit < 1 || limit > 1000) {
      throw ProblemException.badRequest("limit must be between 1 and 1000");
    }
    if (jdbc.sql("SELECT COUNT(*) FROM job WHERE id = ?").param(id).query(Integer.class).single() == 0) {
      throw ProblemException.notFound("job", id);
    }
    return queries.forJob(id, state == null ? null : state(state), after, limit);
  }

  @GetMapping("/batches/{id}")
  BatchQueries.BatchView get(@PathVariable long id) {
    return queries.get(id);
  }

  private static BatchState state(String value) {
    try {
      return BatchState.valueOf(value.trim().toUpperCase());
    } catch (IllegalArgumentException e) {
      throw ProblemException.badRequest(
          "state '" + value + "' is not a batch state; use one of " + Arrays.toString(BatchState.values()));
    }
  }
}
