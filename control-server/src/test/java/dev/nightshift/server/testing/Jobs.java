package dev.nightshift.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Submits jobs over the real API. */
public final class Jobs {
  private Jobs() {}

  public static Map<String, Object> range(String name, String command, long end, int batchSize) {
    Map<String, Object> job = new LinkedHashMap<>();
    job.put("name", name);
    job.put("command", command);
    job.put("batchSize", batchSize);
    job.put("range", Map.of("start", 0, "end", end));
    return job;
  }

  /** Submits and returns the job's id, failing the test on anything but 201. */
  public static long submit(Http admin, Map<String, Object> job) {
    Http.Response r = admin.post("/api/v1/jobs", job);
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().get("id").asLong();
  }

  public static JsonNode get(Http admin, long id) {
    Http.Response r = admin.get("/api/v1/jobs/" + id);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.json();
  }
}
