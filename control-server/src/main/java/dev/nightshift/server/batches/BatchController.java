package dev.nightshift.server.batches;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
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
@Tag(name = "batches", description = "Batches of a job and their attempts")
@RestController
@RequestMapping("/api/v1")
class BatchController {
  private final BatchQueries queries;
  private final JdbcClient jdbc;

  BatchController(BatchQueries queries, JdbcClient jdbc) {
    this.queries = queries;
    this.jdbc = jdbc;
  }

  @Operation(
      summary = "List a job's batches",
      description = "In batch order (seq), keyset paged: pass the page's last seq as after for the next page.",
      responses = {
        @ApiResponse(responseCode = "200", description = "a page of batches"),
        @ApiResponse(responseCode = "400", description = "state is not a batch state, or limit is outside 1..1000"),
        @ApiResponse(responseCode = "404", description = "no job with this id")
      })
  @GetMapping("/jobs/{id}/batches")
  BatchQueries.BatchPage forJob(
      @Parameter(description = "the job's id", example = "42") @PathVariable long id,
      @Parameter(description = "only batches in this state (PENDING, LEASED, SUCCEEDED, DEAD, CANCELLED)", example = "DEAD")
          @RequestParam(required = false) String state,
      @Parameter(description = "only batches with a seq above this (the previous page's last seq)") @RequestParam(required = false) Integer after,
      @Parameter(description = "page size, 1..1000") @RequestParam(defaultValue = "100") int limit) {
    if (limit < 1 || limit > 1000) {
      throw ProblemException.badRequest("limit must be between 1 and 1000");
    }
    if (jdbc.sql("SELECT COUNT(*) FROM job WHERE id = ?").param(id).query(Integer.class).single() == 0) {
      throw ProblemException.notFound("job", id);
    }
    return queries.forJob(id, state == null ? null : state(state), after, limit);
  }

  @Operation(
      summary = "Get a batch",
      description = "The batch with its state, lease and every attempt (worker, outcome, exit code, timings, stderr tail).",
      responses = {
        @ApiResponse(responseCode = "200", description = "the batch and its attempts"),
        @ApiResponse(responseCode = "404", description = "no batch with this id")
      })
  @GetMapping("/batches/{id}")
  BatchQueries.BatchView get(@Parameter(description = "the batch's id (global, as in results and NIGHTSHIFT_BATCH_ID)") @PathVariable long id) {
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
