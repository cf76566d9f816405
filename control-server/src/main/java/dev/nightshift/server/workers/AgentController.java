package dev.nightshift.server.workers;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.ClaimRequest;
import dev.nightshift.protocol.ClaimResponse;
import dev.nightshift.protocol.CompleteRequest;
import dev.nightshift.protocol.FailRequest;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.RegisterRequest;
import dev.nightshift.protocol.RegisterResponse;
import dev.nightshift.protocol.ReleaseRequest;
import dev.nightshift.protocol.ReleaseResponse;
import dev.nightshift.protocol.ReportResponse;
import dev.nightshift.server.batches.ClaimDispatcher;
import dev.nightshift.server.batches.ClaimService;
import dev.nightshift.server.batches.LeaseService;
import dev.nightshift.server.security.AgentPrincipal;
import dev.nightshift.server.system.ProblemException;
import java.util.List;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.async.DeferredResult;

/** The agent protocol over HTTP (see {@link dev.nightshift.protocol.AgentProtocol}); agents act as themselves. */
@Tag(name = "agent protocol", description = "Calls agents make (docs/protocol.md): HTTP/JSON, Bearer agent token except for register; every call carries Nightshift-Agent-Instance")
@RestController
class AgentController {
  private final WorkerService workers;
  private final ClaimDispatcher dispatcher;
  private final LeaseService leases;
  private final ClaimService claims;

  AgentController(WorkerService workers, ClaimDispatcher dispatcher, LeaseService leases, ClaimService claims) {
    this.claims = claims;
    this.workers = workers;
    this.dispatcher = dispatcher;
    this.leases = leases;
  }

  @Operation(
      summary = "Enroll an agent",
      description = "With an enrollment token: creates the worker and answers its id and its own agent token (shown once, stored as SHA-256), the heartbeat and lease periods. No Authorization header.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "the enrollment token, a name, host facts, slots and labels",
          content = @Content(
              mediaType = "application/json",
              examples = {
                  @ExampleObject(name = "desktop", value = """
                      {"enrollmentToken": "net_3kX9...", "name": "desk-12", "host": {"hostname": "desk-12", "os": "Linux", "arch": "amd64", "cpus": 8, "memoryBytes": 17179869184, "agentVersion": "0.1.0", "javaVersion": "17.0.12"}, "slots": 2, "labels": {"os": "linux"}}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "the worker id, agent token and periods"),
        @ApiResponse(responseCode = "400", description = "a missing or invalid field (name, host facts, slots, labels)"),
        @ApiResponse(responseCode = "401", description = "the enrollment token is unknown, expired, used up or revoked"),
        @ApiResponse(responseCode = "413", description = "the body is larger than the server accepts")
      })
  @PostMapping(AgentPaths.REGISTER)
  RegisterResponse register(@RequestBody RegisterRequest request) {
    return workers.register(request);
  }

  @Operation(
      summary = "Heartbeat",
      description = "Says the agent's state, free slots, the leases it holds (renewed, exactly those), the commit it has and its agent version (and the one its launcher refused); answers instructions (CANCEL_LEASE, ...), the current release and, when the agent rollout admits it, the agent build to update to (agent: version, sha256, url). A stopping agent sends state OFFLINE.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "state, reason, slots, freeSlots, leases held, commit checked out, data (the reference-data replica, if any), agentVersion, agentRefused",
          content = @Content(
              mediaType = "application/json",
              examples = {
                  @ExampleObject(name = "busy", value = """
                      {"state": "BUSY", "reason": null, "slots": 2, "freeSlots": 1, "leases": [{"batchId": 1042, "leaseToken": "h1Qb..."}], "commit": "3f2a9c1d", "data": {"replicating": true, "lagSeconds": 2, "position": "0-1-1042", "error": null}, "agentVersion": "0.2.0", "agentRefused": null}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "instructions, the current release and an agent offer (or null)"),
        @ApiResponse(responseCode = "400", description = "the body is malformed or a field is invalid"),
        @ApiResponse(responseCode = "409", description = "another agent process uses this identity (reason IDENTITY_IN_USE) or this one runs on a copied data dir (reason IDENTITY_CLONED)")
      })
  @PostMapping(AgentPaths.HEARTBEAT)
  HeartbeatResponse heartbeat(
      @AuthenticationPrincipal AgentPrincipal agent,
      @Parameter(description = "a random id of the agent process (docs/protocol.md)", example = "5b1e0c7a")
      @org.springframework.web.bind.annotation.RequestHeader(
              name = AgentPaths.AGENT_INSTANCE_HEADER,
              required = false)
          String instance,
      @RequestBody HeartbeatRequest request) {
    return workers.heartbeat(agent.workerId(), instance, request);
  }

  @Operation(
      summary = "Claim batches (and report finished ones)",
      description = "Records the reports it carries first (one answer each), then leases up to freeSlots batches. Long poll: waits up to waitMillis (at most 30 s) for work unless it carries reports; a promotion answers it at once. freeSlots 0 only reports.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "freeSlots, waitMillis, and the completed and failed reports it carries",
          content = @Content(
              mediaType = "application/json",
              examples = {
                  @ExampleObject(name = "claim", value = """
                      {"freeSlots": 2, "waitMillis": 30000, "completed": [], "failed": []}"""),
                  @ExampleObject(name = "report", value = """
                      {"freeSlots": 1, "waitMillis": 0, "completed": [{"batchId": 1042, "leaseToken": "h1Qb...", "commit": "3f2a9c1d", "version": "v7", "exitCode": 0, "startedAt": "2026-01-31T20:00:00Z", "finishedAt": "2026-01-31T20:01:30Z", "output": "{\\"id\\": 1}\\n", "logTail": ""}], "failed": []}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "report answers, leases (batch, token, expiry, command, input) and the current release"),
        @ApiResponse(responseCode = "400", description = "the body is malformed or a field is invalid"),
        @ApiResponse(responseCode = "409", description = "another agent process uses this identity (reason IDENTITY_IN_USE) or this one runs on a copied data dir (reason IDENTITY_CLONED)"),
        @ApiResponse(responseCode = "413", description = "the reports are larger than the server accepts")
      })
  @PostMapping(AgentPaths.CLAIM)
  DeferredResult<ClaimResponse> claim(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody ClaimRequest request) {
    return dispatcher.claim(agent.workerId(), claims.claimant(agent.labels(), agent.drained(), agent.data()), request);
  }

  @Operation(
      summary = "Report a completed batch",
      description = "A batch's script exited 0: its stdout becomes the batch's result. Fenced by the lease token; an exact repeat of an accepted report answers DUPLICATE.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "the batch, lease token, commit, version, exit code 0, timings, stdout, stderr tail, data",
          content = @Content(
              mediaType = "application/json",
              examples = {
                  @ExampleObject(name = "done", value = """
                      {"batchId": 1042, "leaseToken": "h1Qb...", "commit": "3f2a9c1d", "version": "v7", "exitCode": 0, "startedAt": "2026-01-31T20:00:00Z", "finishedAt": "2026-01-31T20:01:30Z", "output": "{\\"id\\": 1, \\"ok\\": true}\\n", "logTail": ""}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "ACCEPTED or DUPLICATE"),
        @ApiResponse(responseCode = "400", description = "exit code other than 0, or a malformed report (reason INVALID)"),
        @ApiResponse(responseCode = "403", description = "the lease belongs to another worker (reason NOT_YOURS)"),
        @ApiResponse(responseCode = "404", description = "no such batch (reason UNKNOWN_BATCH)"),
        @ApiResponse(responseCode = "409", description = "the lease is no longer current (reason STALE, WRONG_COMMIT, CONFLICT), or an identity conflict"),
        @ApiResponse(responseCode = "413", description = "the output is larger than the server accepts")
      })
  @PostMapping(AgentPaths.COMPLETE)
  ReportResponse complete(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody CompleteRequest request) {
    if (request.exitCode() != 0) {
      throw ProblemException.badRequest("a completion must have exit code 0; report other exits with fail");
    }
    return leases.complete(agent.workerId(), request);
  }

  @Operation(
      summary = "Report a failed batch",
      description = "A batch's script failed (FAILED), timed out (TIMED_OUT) or was stopped because the machine's owner came back (VACATED). FAILED and TIMED_OUT count toward maxAttempts.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "the batch, lease token, commit, version, outcome, exit code, timings, error, stderr tail",
          content = @Content(
              mediaType = "application/json",
              examples = {
                  @ExampleObject(name = "failed", value = """
                      {"batchId": 1042, "leaseToken": "h1Qb...", "commit": "3f2a9c1d", "version": "v7", "outcome": "FAILED", "exitCode": 2, "startedAt": "2026-01-31T20:00:00Z", "finishedAt": "2026-01-31T20:00:04Z", "error": "exit code 2", "logTail": "geocode.php: no such file"}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "ACCEPTED or DUPLICATE"),
        @ApiResponse(responseCode = "400", description = "a malformed report (reason INVALID)"),
        @ApiResponse(responseCode = "403", description = "the lease belongs to another worker (reason NOT_YOURS)"),
        @ApiResponse(responseCode = "404", description = "no such batch (reason UNKNOWN_BATCH)"),
        @ApiResponse(responseCode = "409", description = "the lease is no longer current (reason STALE, WRONG_COMMIT, CONFLICT), or an identity conflict"),
        @ApiResponse(responseCode = "413", description = "the report is larger than the server accepts")
      })
  @PostMapping(AgentPaths.FAIL)
  ReportResponse fail(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody FailRequest request) {
    return leases.fail(agent.workerId(), request);
  }

  @Operation(
      summary = "Give leases back",
      description = "The agent gives up leases it will not run (it is stopping): the batches are requeued at once, no attempt used.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "the leases and why",
          content = @Content(
              mediaType = "application/json",
              examples = {
                  @ExampleObject(name = "stopping", value = """
                      {"leases": [{"batchId": 1042, "leaseToken": "h1Qb..."}], "reason": "agent stopping"}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "how many of the leases were still held"),
        @ApiResponse(responseCode = "400", description = "the body is malformed or a field is invalid"),
        @ApiResponse(responseCode = "409", description = "another agent process uses this identity (reason IDENTITY_IN_USE) or this one runs on a copied data dir (reason IDENTITY_CLONED)")
      })
  @PostMapping(AgentPaths.RELEASE)
  ReleaseResponse release(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody ReleaseRequest request) {
    return new ReleaseResponse(
        leases.release(
            agent.workerId(), request.leases() == null ? List.of() : request.leases(), request.reason()));
  }
}
