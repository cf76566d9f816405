package dev.nightshift.server.workers;

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

  @PostMapping(AgentPaths.REGISTER)
  RegisterResponse register(@RequestBody RegisterRequest request) {
    return workers.register(request);
  }

  @PostMapping(AgentPaths.HEARTBEAT)
  HeartbeatResponse heartbeat(
      @AuthenticationPrincipal AgentPrincipal agent,
      @org.springframework.web.bind.annotation.RequestHeader(
              name = AgentPaths.AGENT_INSTANCE_HEADER,
              required = false)
          String instance,
      @RequestBody HeartbeatRequest request) {
    return workers.heartbeat(agent.workerId(), instance, request);
  }

  @PostMapping(AgentPaths.CLAIM)
  DeferredResult<ClaimResponse> claim(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody ClaimRequest request) {
    return dispatcher.claim(agent.workerId(), claims.claimant(agent.labels(), agent.drained(), agent.data()), request);
  }

  @PostMapping(AgentPaths.COMPLETE)
  ReportResponse complete(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody CompleteRequest request) {
    if (request.exitCode() != 0) {
      throw ProblemException.badRequest("a completion must have exit code 0; report other exits with fail");
    }
    return leases.complete(agent.workerId(), request);
  }

  @PostMapping(AgentPaths.FAIL)
  ReportResponse fail(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody FailRequest request) {
    return leases.fail(agent.workerId(), request);
  }

  @PostMapping(AgentPaths.RELEASE)
  ReleaseResponse release(@AuthenticationPrincipal AgentPrincipal agent, @RequestBody ReleaseRequest request) {
    return new ReleaseResponse(
        leases.release(
            agent.workerId(), request.leases() == null ? List.of() : request.leases(), request.reason()));
  }
}
