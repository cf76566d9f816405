package dev.nightshift.server.batches;

import dev.nightshift.protocol.DataState;
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

  /**
   * What a claim needs to know about the worker: its labels, whether an admin drained it, and its reference data as
   * its last heartbeat reported it (null: none).
   */
  public record Claimant(Map<String, String> labels, boolean drained, DataState data) {
    public Claimant(Map<String, String> labels, boolean drained) {
      this(labels, drained, null);
    }
  }

  /** The claimant from the worker row as read when the call was authenticated (no statement). */
  public Claimant claimant(String labels, boolean drained) {
    return claimant(labels, drained, null);
  }

  /** As {@link #claimant(String, boolean)}, with the reference data as stored (JSON, or null). */
  public Claimant claimant(String labels, boolean drained, String data) {
    return new Claimant(
        labels == null || labels.equals("{}") ? Map.of() : json.readValue(labels, STRING_MAP), drained, data(data));
  }

  /** One read of the worker row. */
  public Claimant claimant(String workerId) {
    return jdbc.query(
            "SELECT labels, drained_at IS NOT NULL OR approval_pending_at IS NOT NULL, data_state FROM worker WHERE id = ?",
            (rs, n) -> claimant(rs.getString(1), rs.getBoolean(2), rs.getString(3)),
            workerId)
        .stream()
        .findFirst()
        .orElse(new Claimant(Map.of(), false));
  }

  private DataState data(String stored) {
    return stored == null ? null : json.readValue(stored, DataState.class);
  }

  /** Leases up to {@code max} batches to the worker; empty when there is nothing it can run now. */
  public List<Lease> claim(String workerId, int max) {
    Claimant c = claimant(workerId);
    return engine.run(new BatchEngine.Request(workerId, c.labels(), max, null, null, c.data())).leases();
  }
}
