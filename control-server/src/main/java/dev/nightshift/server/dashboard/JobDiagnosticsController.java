package dev.nightshift.server.dashboard;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import dev.nightshift.server.system.ProblemException;
import java.time.Instant;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * What the job page shows, for scripts: why a job's pending batches wait, and its failures with their stderr in
 * one call (before, finding a failure's stderr took three: the job, its DEAD batches, each batch's attempts).
 */
@Tag(name = "jobs")
@RestController
class JobDiagnosticsController {
  private static final int MAX_FAILURES = 100;
  private final DashboardViews views;

  JobDiagnosticsController(DashboardViews views) {
    this.views = views;
  }

  /** One reason a job waits; {@code blocking}: nothing runs it until something changes. */
  public record WaitReason(String kind, boolean blocking, String text) {}

  public record WaitReasonsResponse(long jobId, String state, int pending, List<WaitReason> reasons) {}

  @Operation(
      summary = "Why a job's batches wait",
      description = "The reasons the job's pending batches are not running now (no worker with its labels, maxParallel reached, workers busy, data too stale...), as the job page shows them; blocking: nothing runs the job until something changes.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the job's state, pending count and reasons"),
        @ApiResponse(responseCode = "404", description = "no job with this id")
      })
  @GetMapping("/api/v1/jobs/{id}/wait-reasons")
  WaitReasonsResponse waitReasons(@Parameter(description = "the job's id", example = "42") @PathVariable long id) {
    var job = views.jobView(id);
    return new WaitReasonsResponse(
        id,
        job.state().name(),
        job.counts().pending(),
        views.reasons(job).stream().map(r -> new WaitReason(r.kind().name(), r.blocking(), r.text())).toList());
  }

  /** A failed attempt with the tail of its stderr. */
  public record Failure(
      long attemptId,
      long batchId,
      int seq,
      int attempt,
      String outcome,
      String batchState,
      String workerId,
      String workerName,
      Integer exitCode,
      String error,
      String commit,
      String version,
      Instant claimedAt,
      Instant finishedAt,
      String logTail) {}

  public record FailuresResponse(long jobId, List<Failure> failures) {}

  @Operation(
      summary = "A job's failures with their stderr",
      description = "The job's failed attempts, newest first, each with its batch, worker, exit code, error and the tail of its stderr, in one call.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the failed attempts"),
        @ApiResponse(responseCode = "400", description = "limit is outside 1..100"),
        @ApiResponse(responseCode = "404", description = "no job with this id")
      })
  @GetMapping("/api/v1/jobs/{id}/failures")
  FailuresResponse failures(
      @Parameter(description = "the job's id", example = "42") @PathVariable long id,
      @Parameter(description = "most failures, 1..100") @RequestParam(defaultValue = "10") int limit) {
    if (limit < 1 || limit > MAX_FAILURES) {
      throw ProblemException.badRequest("limit must be between 1 and " + MAX_FAILURES + " (got " + limit + ")");
    }
    return new FailuresResponse(
        id,
        views.failures(id, limit).stream()
            .map(
                a ->
                    new Failure(
                        a.id(), a.batchId(), a.seq(), a.number(), a.outcome(), a.batchState(), a.workerId(),
                        a.workerName(), a.exitCode(), a.error(), a.commit(), a.version(), a.claimedAt(),
                        a.finishedAt(), a.logTail()))
            .toList());
  }
}
