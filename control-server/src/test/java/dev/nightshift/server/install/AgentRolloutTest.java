package dev.nightshift.server.install;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentOffer;
import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.protocol.HeartbeatRequest;
import dev.nightshift.protocol.HeartbeatResponse;
import dev.nightshift.protocol.WorkerState;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The agent rollout: its modes over the real API (ADMIN only to change, bad input as problem+json), which workers
 * a heartbeat reply offers the served agent to (a stable canary share, only on a version mismatch, never a refused
 * version), and the versions a heartbeat reports, as workers show them.
 */
@NightshiftTest
class AgentRolloutTest {
  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;
  @TempDir Path dir;
  Http admin;
  AgentRollout rollout;
  String sha;

  @BeforeEach
  void setUp() throws Exception {
    admin = Http.admin(port);
    Path jar = dir.resolve("agent.jar");
    writeJar(jar, "2.0-test");
    sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(jar)));
    // the same table the server uses, with a served agent of this test's own
    rollout = new AgentRollout(jdbc, new AgentDownload(new InstallProperties(jar, null, null)), Clock.systemUTC());
  }

  @AfterEach
  void back() {
    assertThat(put("{\"mode\": \"ALL\"}").status()).isEqualTo(200);
  }

  static void writeJar(Path path, String version) throws IOException {
    Files.createDirectories(path.getParent());
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.IMPLEMENTATION_VERSION, version);
    try (OutputStream file = Files.newOutputStream(path);
        JarOutputStream out = new JarOutputStream(file, manifest)) {
      out.putNextEntry(new JarEntry("hello.txt"));
      out.write("a stand-in for the agent\n".getBytes());
      out.closeEntry();
    }
  }

  private Http.Response put(String body) {
    return admin.send("PUT", "/api/v1/agent-rollout", body);
  }

  @Test
  void modesAreSetAndReadByAdminsWithWhoAndWhen() {
    Http.Response r = put("{\"mode\": \"CANARY\", \"share\": 25}");
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    assertThat(r.json().get("mode").asString()).isEqualTo("CANARY");
    assertThat(r.json().get("share").asInt()).isEqualTo(25);
    assertThat(r.json().get("changedBy").asString()).isEqualTo("admin");
    assertThat(r.json().get("changedAt").isNull()).isFalse();

    r = put("{\"mode\": \"hold\"}");
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    var got = admin.get("/api/v1/agent-rollout").json();
    assertThat(got.get("mode").asString()).isEqualTo("HOLD");
    assertThat(got.get("share").asInt()).as("kept for a later CANARY").isEqualTo(25);
    assertThat(rollout.current().mode()).isEqualTo(AgentRollout.Mode.HOLD);
  }

  @Test
  void onlyAdminsMayChangeTheRolloutOperatorsMayReadIt() {
    admin.delete("/api/v1/users/rollout-op");
    assertThat(admin.post("/api/v1/users", Map.of("username", "rollout-op", "password", "rollout-op-password",
        "role", "OPERATOR")).status()).isEqualTo(201);
    Http operator = Http.basic(port, "rollout-op", "rollout-op-password");
    assertThat(operator.get("/api/v1/agent-rollout").status()).isEqualTo(200);
    Http.Response r = operator.send("PUT", "/api/v1/agent-rollout", "{\"mode\": \"HOLD\"}");
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.isProblem()).isTrue();
    assertThat(Http.anonymous(port).send("PUT", "/api/v1/agent-rollout", "{\"mode\": \"HOLD\"}").status())
        .isEqualTo(401);
    assertThat(rollout.current().mode()).isEqualTo(AgentRollout.Mode.ALL);
  }

  @Test
  void badInputIsAProblemThatSaysWhatToFix() {
    record Bad(String body, String detail) {}
    for (Bad bad :
        List.of(
            new Bad("{\"mode\": \"SOME\"}", "unknown mode 'SOME': one of [HOLD, CANARY, ALL]"),
            new Bad("{\"mode\": \"CANARY\", \"share\": 101}", "share must be a percent from 0 to 100, not 101"),
            new Bad("{\"mode\": \"CANARY\", \"share\": -1}", "share must be a percent from 0 to 100, not -1"),
            new Bad("{\"mode\": \"CANARY\"}", "a CANARY rollout needs share"),
            new Bad("{\"share\": 5}", "mode is required"),
            new Bad("{\"mode\": \"ALL\", \"percent\": 5}", "unknown field(s) [percent]"),
            new Bad("{\"mode\": \"CANARY\", \"share\": \"many\"}", "share"),
            new Bad("[]", "the body must be a JSON object"))) {
      Http.Response r = put(bad.body());
      assertThat(r.status()).as(bad.body() + " -> " + r).isEqualTo(400);
      assertThat(r.isProblem()).as(r.toString()).isTrue();
      assertThat(r.detail()).as(bad.body()).contains(bad.detail());
    }
    assertThat(rollout.current().mode()).isEqualTo(AgentRollout.Mode.ALL);
  }

  @Test
  void offersOnlyOnAVersionMismatchAndNeverARefusedVersion() {
    assertThat(put("{\"mode\": \"ALL\"}").status()).isEqualTo(200);
    assertThat(rollout.offerFor("w-1", "1.0", null))
        .isEqualTo(new AgentOffer("2.0-test", sha, "/install/nightshift-agent.jar"));
    assertThat(rollout.offerFor("w-1", "2.0-test", null)).as("runs it already").isNull();
    assertThat(rollout.offerFor("w-1", "1.0", "2.0-test")).as("refused it").isNull();
    assertThat(rollout.offerFor("w-1", "1.0", "1.5")).as("refused another").isNotNull();
    assertThat(rollout.offerFor("w-1", null, null)).as("an agent older than self-update").isNull();
    assertThat(put("{\"mode\": \"HOLD\"}").status()).isEqualTo(200);
    assertThat(rollout.offerFor("w-1", "1.0", null)).as("held").isNull();
  }

  @Test
  void aCanaryOffersToAStableShareOfWorkers() {
    List<String> workers = IntStream.range(0, 400).mapToObj(i -> "w-" + i).toList();
    assertThat(put("{\"mode\": \"CANARY\", \"share\": 0}").status()).isEqualTo(200);
    assertThat(offered(workers)).isEmpty();
    assertThat(put("{\"mode\": \"CANARY\", \"share\": 25}").status()).isEqualTo(200);
    Set<String> quarter = offered(workers);
    assertThat(quarter.size()).isBetween(60, 140);
    assertThat(offered(workers)).as("the same workers every time").isEqualTo(quarter);
    assertThat(put("{\"mode\": \"CANARY\", \"share\": 60}").status()).isEqualTo(200);
    Set<String> more = offered(workers);
    assertThat(more).containsAll(quarter);
    assertThat(more.size()).isBetween(200, 280);
    assertThat(put("{\"mode\": \"CANARY\", \"share\": 100}").status()).isEqualTo(200);
    assertThat(offered(workers)).hasSize(400);
  }

  private Set<String> offered(List<String> workers) {
    return workers.stream().filter(w -> rollout.offerFor(w, "1.0", null) != null).collect(Collectors.toSet());
  }

  @Test
  void heartbeatsReportTheAgentVersionAndTheRefusedOneWhichWorkersShow() throws Exception {
    writeJar(Path.of(NightshiftTest.SERVED_AGENT_JAR), "9.9.9-test");
    TestAgent agent = TestAgent.enroll(port, "rollout-agent", 1, Map.of());
    HeartbeatResponse reply = heartbeat(agent, "0.0.1-old", null);
    assertThat(reply.agent()).isNotNull();
    assertThat(reply.agent().version()).isEqualTo("9.9.9-test");
    assertThat(reply.agent().url()).isEqualTo("/install/nightshift-agent.jar");
    var view = admin.get("/api/v1/workers/" + agent.workerId).json();
    assertThat(view.get("agentVersion").asString()).isEqualTo("0.0.1-old");
    assertThat(view.get("agentRefused").isNull()).isTrue();

    reply = heartbeat(agent, "0.0.1-old", "9.9.9-test");
    assertThat(reply.agent()).as("refused: not offered again").isNull();
    view = admin.get("/api/v1/workers/" + agent.workerId).json();
    assertThat(view.get("agentRefused").asString()).isEqualTo("9.9.9-test");
    var session = dev.nightshift.server.testing.DashboardSession.login(port);
    var page = dev.nightshift.server.testing.DashboardSession.get(session, port, "/ui/workers");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("0.0.1-old").contains("refused 9.9.9-test")
        .contains("Agent 9.9.9-test offered to every worker running another version");

    reply = heartbeat(agent, "9.9.9-test", null);
    assertThat(reply.agent()).isNull();
    view = admin.get("/api/v1/workers/" + agent.workerId).json();
    assertThat(view.get("agentVersion").asString()).isEqualTo("9.9.9-test");
    assertThat(view.get("agentRefused").isNull()).isTrue();
  }

  private static HeartbeatResponse heartbeat(TestAgent agent, String version, String refused) {
    Http.Response r =
        agent.http.post(
            AgentPaths.HEARTBEAT,
            new HeartbeatRequest(WorkerState.IDLE, "ready", 1, 1, List.of(), null, null, version, refused));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return Http.JSON.readValue(r.body(), HeartbeatResponse.class);
  }
}
