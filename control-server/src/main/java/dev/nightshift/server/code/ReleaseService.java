package dev.nightshift.server.code;

import dev.nightshift.protocol.CodeRelease;
import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * Promotion: moves the worker branch to a commit and records a release (commit, version, who, when). Rolling back
 * is promoting an older commit, allowed only when asked for, and recorded as such. The latest release row in the
 * database is the current release, for every server instance.
 */
@Service
public class ReleaseService {
  private static final Logger log = LoggerFactory.getLogger(ReleaseService.class);
  private static final long CACHE_MILLIS = 1000;
  private final CodeRepository code;
  private final JdbcClient jdbc;
  private final Clock clock;
  private final ConcurrentHashMap<String, String> versions = new ConcurrentHashMap<>();
  private volatile Cached cached;

  private final org.springframework.beans.factory.ObjectProvider<UpstreamMirror> mirror;
  private final org.springframework.context.ApplicationEventPublisher events;

  ReleaseService(
      CodeRepository code,
      JdbcClient jdbc,
      Clock clock,
      org.springframework.beans.factory.ObjectProvider<UpstreamMirror> mirror,
      org.springframework.context.ApplicationEventPublisher events) {
    this.events = events;
    this.code = code;
    this.jdbc = jdbc;
    this.clock = clock;
    this.mirror = mirror;
  }

  private record Cached(Optional<Release> release, long at) {}

  /** A promotion. */
  public record Release(
      long id, String commit, String version, String previousCommit, boolean rollback, String promotedBy,
      Instant promotedAt) {
    public CodeRelease toProtocol() {
      return new CodeRelease(commit, version);
    }
  }

  /** The current release; read at most once a second from the database. */
  public Optional<Release> current() {
    Cached c = cached;
    long now = System.currentTimeMillis();
    if (c == null || now - c.at > CACHE_MILLIS) {
      c = new Cached(history(1).stream().findFirst(), now);
      cached = c;
    }
    return c.release;
  }

  /** Forgets the cached current release (another server instance promoted one). */
  public void forget() {
    cached = null;
  }

  public List<Release> history(int limit) {
    return jdbc.sql(
            """
            SELECT id, commit_sha, version, previous_commit, rollback, promoted_by, promoted_at
            FROM code_release ORDER BY id DESC LIMIT ?""")
        .param(limit)
        .query(
            (rs, n) ->
                new Release(
                    rs.getLong(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getBoolean(5),
                    rs.getString(6),
                    Times.instant(rs, "promoted_at")))
        .list();
  }

  /** The version of any commit in the repository (cached: a commit's content never changes). */
  public String versionOf(String commit) {
    return versions.computeIfAbsent(commit, c -> code.versionOf(ObjectId.fromString(c)));
  }

  /**
   * Promotes a branch or commit. A move that is not a fast-forward of the current release must be asked for with
   * {@code rollback}.
   */
  public synchronized Release promote(String ref, String commit, boolean rollback, String user) {
    if ((ref == null) == (commit == null)) {
      throw ProblemException.badRequest(
          "give either \"ref\" (a branch or tag, e.g. \"main\") or \"commit\" (a commit id), not both");
    }
    String name = ref != null ? ref : commit;
    String field = ref != null ? "ref" : "commit";
    if (name.length() > 255) {
      throw ProblemException.badRequest(field + " must be at most 255 characters (a branch, tag or commit id)");
    }
    String bad = dev.nightshift.server.system.Text.nameProblem(field, name);
    if (bad != null) {
      throw ProblemException.badRequest(bad);
    }
    code.catchUp(); // promote what was pushed through any server instance
    UpstreamMirror upstream = mirror.getIfAvailable();
    if (upstream != null) {
      try {
        upstream.mirror(); // promote what the team's Git host has now
      } catch (RuntimeException e) {
        log.warn("{}; promoting from the last mirrored state", e.getMessage());
      }
    }
    ObjectId target =
        code.resolveCommit(name)
            .orElseThrow(
                () ->
                    ProblemException.notFound(
                        ref != null ? "ref" : "commit",
                        "'" + name + "' in /git/code.git (push it first: git push <server>/git/code.git main)"));
    Optional<Release> previous = history(1).stream().findFirst();
    ObjectId before = previous.map(r -> ObjectId.fromString(r.commit())).orElse(null);
    if (before != null && before.equals(target)) {
      throw ProblemException.conflict(
          "commit " + target.name() + " (" + previous.get().version() + ") is already the current release");
    }
    boolean fastForward = before == null || code.isAncestor(before, target);
    if (!fastForward && !rollback) {
      throw ProblemException.conflict(
          "promoting "
              + target.name()
              + " is not a fast-forward of the current release "
              + before.name()
              + " ("
              + previous.get().version()
              + "): to roll back, send \"rollback\": true");
    }
    String version = versionOf(target.name());
    code.moveWorker(target, !fastForward);
    Instant now = clock.instant();
    var keys = new org.springframework.jdbc.support.GeneratedKeyHolder();
    jdbc.sql(
            """
            INSERT INTO code_release (commit_sha, version, previous_commit, rollback, promoted_by, promoted_at)
            VALUES (?, ?, ?, ?, ?, ?)""")
        .params(target.name(), version, before == null ? null : before.name(), !fastForward, user, Times.db(now))
        .update(keys);
    cached = null;
    events.publishEvent(
        new dev.nightshift.server.batches.CurrentRelease.Changed(
            new dev.nightshift.protocol.CodeRelease(target.name(), version)));
    Release release =
        new Release(
            keys.getKey().longValue(),
            target.name(),
            version,
            before == null ? null : before.name(),
            !fastForward,
            user,
            now);
    log.info(
        "{} {} ({}) by {}",
        release.rollback() ? "rolled back to" : "promoted",
        release.commit(),
        release.version(),
        user);
    return release;
  }
}
