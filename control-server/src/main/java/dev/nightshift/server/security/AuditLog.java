package dev.nightshift.server.security;

import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The audit trail: who did what, to what, when and from where. Written for every state-changing request a user
 * makes (API, dashboard, Git push) by {@link AuditFilter}; read by {@code GET /api/v1/audit} and the dashboard.
 * Never holds request bodies, query strings or secrets.
 */
@Repository
public class AuditLog {
  /** Request attribute a handler sets to say how an action ended when the status cannot (dashboard redirects). */
  public static final String OUTCOME = AuditLog.class.getName() + ".outcome";

  private final JdbcClient jdbc;
  private final Clock clock;

  AuditLog(JdbcClient jdbc, Clock clock) {
    this.jdbc = jdbc;
    this.clock = clock;
  }

  /** One recorded action. {@code via}: password, api-token:ID, dashboard or git. */
  public record Entry(
      long id,
      Instant at,
      String actor,
      String via,
      String action,
      String target,
      int status,
      String outcome,
      String address) {}

  /** Which entries to read: every field optional; newest first, before the id {@code before}. */
  public record Filter(String actor, String action, String target, Instant since, Long before, int limit) {}

  void record(String actor, String via, String action, String target, int status, String outcome, String address) {
    jdbc.sql(
            """
            INSERT INTO audit (at, actor, via, action, target, status, outcome, address)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)""")
        .params(
            Times.db(clock.instant()),
            cut(actor, 100),
            cut(via, 20),
            cut(action, 200),
            cut(target, 500),
            status,
            cut(outcome, 1000),
            cut(address, 100))
        .update();
  }

  public List<Entry> find(Filter f) {
    StringBuilder sql =
        new StringBuilder("SELECT id, at, actor, via, action, target, status, outcome, address FROM audit WHERE 1=1");
    List<Object> args = new ArrayList<>();
    if (f.actor() != null && !f.actor().isBlank()) {
      sql.append(" AND actor = ?");
      args.add(f.actor().strip());
    }
    if (f.action() != null && !f.action().isBlank()) {
      sql.append(" AND action LIKE ?");
      args.add("%" + like(f.action().strip()) + "%");
    }
    if (f.target() != null && !f.target().isBlank()) {
      sql.append(" AND target LIKE ?");
      args.add("%" + like(f.target().strip()) + "%");
    }
    if (f.since() != null) {
      sql.append(" AND at >= ?");
      args.add(Times.db(f.since()));
    }
    if (f.before() != null) {
      sql.append(" AND id < ?");
      args.add(f.before());
    }
    sql.append(" ORDER BY id DESC LIMIT ?");
    args.add(f.limit());
    return jdbc.sql(sql.toString())
        .params(args)
        .query(
            (rs, n) ->
                new Entry(
                    rs.getLong(1),
                    Times.instant(rs, "at"),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getString(5),
                    rs.getString(6),
                    rs.getInt(7),
                    rs.getString(8),
                    rs.getString(9)))
        .list();
  }

  private static String like(String s) {
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  private static String cut(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max);
  }
}
