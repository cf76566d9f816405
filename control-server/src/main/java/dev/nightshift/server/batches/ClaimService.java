package dev.nightshift.server.batches;

import dev.nightshift.protocol.Lease;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Hands pending batches to a worker through the {@link BatchEngine} (which leases them in group transactions), and
 * reads what a claim needs to know about the worker.
 */
@Service
public class ClaimService {
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};

  private final JdbcTemplate jdbc;
  private final BatchEngine engine;
  private final JsonMapper json;

  ClaimService(JdbcTemplate jdbc, BatchEngine engine, JsonMapper json) {
    this.jdbc = jdbc;
    this.engine = engine;
    this.json = json;
  }

  /** What a claim needs to know about the worker: its labels, and whether an admin drained it. */
  public record Claimant(Map<String, String> labels, boolean drained) {}

  /** The claimant from the worker row as read when the call was authenticated (no statement). */
  public Claimant claimant(String labels, boolean drained) {
    return new Claimant(labels == null || labels.equals("{}") ? Map.of() : json.readValue(labels, STRING_MAP), drained);
  }

  /** One read of the worker row. */
  public Claimant claimant(String workerId) {
    return jdbc.query(
            "SELECT labels, drained_at IS NOT NULL FROM worker WHERE id = ?",
            (rs, n) -> new Claimant(json.readValue(rs.getString(1), STRING_MAP), rs.getBoolean(2)),
            workerId)
        .stream()
        .findFirst()
        .orElse(new Claimant(Map.of(), false));
  }

  /** Leases up to {@code max} batches to the worker; empty when there is nothing it can run now. */
  public List<Lease> claim(String workerId, int max) {
    return engine.run(BatchEngine.Request.claim(workerId, claimant(workerId).labels(), max)).leases();
  }
}
