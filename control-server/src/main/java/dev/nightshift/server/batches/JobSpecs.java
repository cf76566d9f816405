package dev.nightshift.server.batches;

import static dev.nightshift.server.batches.BatchStore.marks;

import java.sql.ResultSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a job asked for at submission (command, timeout, env, pinned commit, input kind, max attempts): never
 * changes afterwards, so it is read once per job and kept (bounded), sparing every claim and report a job read.
 */
@Component
class JobSpecs {
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};
  private static final int MAX_KEPT = 10_000;

  record Spec(
      long id,
      String command,
      int timeoutSeconds,
      Map<String, String> env,
      String commit,
      boolean itemsInput,
      int maxAttempts,
      String entryPoint,
      List<String> args) {}

  private final JdbcTemplate jdbc;
  private final JsonMapper json;
  private final Map<Long, Spec> kept = new ConcurrentHashMap<>();
  private final dev.nightshift.server.jobs.JobSecrets secrets;

  JobSpecs(JdbcTemplate jdbc, JsonMapper json, dev.nightshift.server.jobs.JobSecrets secrets) {
    this.jdbc = jdbc;
    this.json = json;
    this.secrets = secrets;
  }

  /** The specs of these jobs, by id; ids of jobs that do not exist are absent. */
  Map<Long, Spec> of(Collection<Long> jobIds) {
    Map<Long, Spec> found = new HashMap<>();
    List<Long> missing = jobIds.stream().distinct().filter(id -> {
      Spec s = kept.get(id);
      if (s != null) {
        found.put(id, s);
      }
      return s == null;
    }).toList();
    if (missing.isEmpty()) {
      return found;
    }
    if (kept.size() > MAX_KEPT) {
      kept.clear();
    }
    jdbc.query(
        "SELECT id, command, timeout_seconds, env, commit_sha, input_kind, max_attempts, secrets, entry_point, entry_args FROM job WHERE id IN ("
            + marks(missing.size())
            + ")",
        (ResultSet rs) -> {
          Spec s =
              new Spec(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getInt(3),
                  scriptEnv(rs.getLong(1), json.readValue(rs.getString(4), STRING_MAP), rs.getString(8)),
                  rs.getString(5),
                  rs.getString(6).equals("ITEMS"),
                  rs.getInt(7),
                  rs.getString(9),
                  rs.getString(10) == null ? null : json.readValue(rs.getString(10), STRING_LIST));
          kept.put(s.id(), s);
          found.put(s.id(), s);
        },
        missing.toArray());
    return found;
  }

  /** The job's env and its opened secrets (names never clash: refused at submission). */
  private Map<String, String> scriptEnv(long jobId, Map<String, String> env, String sealed) {
    if (sealed == null) {
      return env;
    }
    Map<String, String> all = new LinkedHashMap<>(env);
    try {
      all.putAll(secrets.open(sealed));
    } catch (IllegalStateException e) {
      throw new IllegalStateException("job " + jobId + ": " + e.getMessage(), e);
    }
    return Map.copyOf(all);
  }
}
