package dev.nightshift.server.install;

import dev.nightshift.server.system.JsonBodies;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.security.Principal;
import java.time.Instant;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Admin API of agent self-update: hold updates, roll them out to a share of workers first, or to all. */
@Tag(name = "agent rollout", description = "Which workers heartbeat replies offer this server's agent build to (docs/operations.md, Upgrading agents)")
@RestController
class AgentRolloutController {
  static final String PATH = "/api/v1/agent-rollout";

  /**
   * The rollout and the agent it rolls out.
   *
   * @param share percent of workers a CANARY rollout offers the update to
   * @param agentVersion the version of the agent this server serves (null: it serves none)
   * @param agentSha256 its jar's SHA-256
   * @param changedBy who set the rollout last (null: nobody since installation)
   */
  record AgentRolloutView(
      AgentRollout.Mode mode, int share, String agentVersion, String agentSha256, String changedBy,
      Instant changedAt) {}

  /** A new rollout: mode HOLD, CANARY or ALL; share (0-100) is required for CANARY. */
  record AgentRolloutChange(String mode, Integer share) {}

  private final AgentRollout rollout;
  private final AgentDownload agent;
  private final JsonMapper json;

  AgentRolloutController(AgentRollout rollout, AgentDownload agent, JsonMapper json) {
    this.rollout = rollout;
    this.agent = agent;
    this.json = json;
  }

  @Operation(
      summary = "Get the agent rollout",
      description = "The rollout mode (HOLD: no agent is offered an update; CANARY: the workers in the first share"
          + " percent of a stable hash of their ids; ALL: every worker), the version and SHA-256 of the agent this"
          + " server serves, and who set the rollout when.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the rollout and the served agent")
      })
  @GetMapping(PATH)
  AgentRolloutView get() {
    return view(rollout.current());
  }

  @Operation(
      summary = "Set the agent rollout",
      description = "Holds agent updates (HOLD), offers them to a share of the workers first (CANARY with share"
          + " 0-100) or to every worker (ALL). An agent started by its launcher that is offered the served agent"
          + " downloads it, checks its SHA-256, finishes its batches and restarts into it; its launcher rolls back"
          + " when the new agent does not heartbeat in time, and that version is not offered to it again. ADMIN only;"
          + " audited.",
      requestBody =
          @io.swagger.v3.oas.annotations.parameters.RequestBody(
              required = true,
              description = "mode (HOLD, CANARY, ALL) and, for CANARY, share: the percent of workers",
              content =
                  @Content(
                      mediaType = "application/json",
                      examples = {
                        @ExampleObject(name = "canary", value = "{\"mode\": \"CANARY\", \"share\": 10}"),
                        @ExampleObject(name = "all", value = "{\"mode\": \"ALL\"}"),
                        @ExampleObject(name = "hold", value = "{\"mode\": \"HOLD\"}")
                      })),
      responses = {
        @ApiResponse(responseCode = "200", description = "the rollout after the change"),
        @ApiResponse(
            responseCode = "400",
            description = "an unknown mode or field, a share outside 0-100, or CANARY without share")
      })
  @PutMapping(PATH)
  AgentRolloutView set(@RequestBody JsonNode body, Principal user) {
    AgentRolloutChange change = JsonBodies.read(json, body, AgentRolloutChange.class);
    return view(rollout.set(change.mode(), change.share(), user.getName()));
  }

  private AgentRolloutView view(AgentRollout.Setting s) {
    AgentDownload.Served served = agent.served().orElse(null);
    return new AgentRolloutView(
        s.mode(), s.share(), served == null ? null : served.version(), served == null ? null : served.sha256(),
        s.changedBy(), s.changedAt());
  }
}
