package dev.nightshift.server.code;

import dev.nightshift.server.system.DatabaseOutage;
import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.Times;
import dev.nightshift.server.system.Transactions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.NullProgressMonitor;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.BundleWriter;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.TransportBundleStream;
import org.eclipse.jgit.transport.URIish;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The code repository shared by every server instance through the database (docs/scale-out.md). Each accepted push
 * is stored as a Git bundle ({@code code_push}) and moves the shared branches and tags ({@code code_ref}) by
 * compare-and-set, in one transaction, before the pushing instance moves its own refs; every instance imports the
 * bundles it lacks in id order and makes its refs equal to {@code code_ref} and its worker branch equal to the
 * latest release: before serving a Git request, when a named commit is unknown, when another instance signals a
 * push or promotion ({@code grid_signal}), and every few seconds. Each instance keeps its own copy in its data dir;
 * the database is the truth.
 *
 * <p>With an upstream mirror (pushes refused), the team's Git host is the shared storage: each instance mirrors it,
 * and only the worker branch follows the database.
 */
@Component
public class CodeSync implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(CodeSync.class);
  private static final String IMPORT = "refs/nightshift-import/";
  private static final long PERIOD_MILLIS = 5000;

  private final CodeRepository code;
  private final Repository repository;
  private final JdbcClient jdbc;
  private final Transactions transactions;
  private final Clock clock;
  private final boolean mirrored;
  private final ObjectProvider<UpstreamMirror> mirror;
  private final String instance;
  private final ExecutorService background =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "code-sync");
            t.setDaemon(true);
            return t;
          });
  private final AtomicBoolean queued = new AtomicBoolean();
  /** The newest push and release this copy has applied (-1: not yet looked). */
  private long pushSeen = -1;
  private long releaseSeen = -1;
  private volatile boolean running;

  CodeSync(
      CodeRepository code,
      JdbcClient jdbc,
      Transactions transactions,
      Clock clock,
      NightshiftProperties properties,
      ObjectProvider<UpstreamMirror> mirror) {
    this.code = code;
    this.repository = code.repository();
    this.jdbc = jdbc;
    this.transactions = transactions;
    this.clock = clock;
    this.mirror = mirror;
    String upstream = properties.code().upstream();
    this.mirrored = upstream != null && !upstream.isBlank();
    this.instance = instanceName();
    code.catchUpWith(this::catchUp);
  }

  private static String instanceName() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "?";
    }
    return host + "/" + ProcessHandle.current().pid();
  }

  /** A push refused because another instance moved one of its refs first. */
  static final class LostRace extends RuntimeException {
    LostRace(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Records a push before it moves this copy's refs: its objects as a bundle and its ref moves by compare-and-set
   * (each ref must still be where the pusher saw it), then moves the local refs and marks the commands done. A ref
   * another instance moved meanwhile rejects the whole push (fetch and push again).
   */
  synchronized void accept(Collection<ReceiveCommand> commands) {
    List<ReceiveCommand> todo =
        commands.stream().filter(c -> c.getResult() == ReceiveCommand.Result.NOT_ATTEMPTED).toList();
    if (todo.isEmpty()) {
      return;
    }
    Map<String, ObjectId> tips = new LinkedHashMap<>();
    todo.stream()
        .filter(c -> c.getType() != ReceiveCommand.Type.DELETE)
        .forEach(c -> tips.put(c.getRefName(), c.getNewId()));
    byte[] bundle;
    try {
      bundle = tips.isEmpty() ? new byte[0] : bundle(tips, sharedTips());
    } catch (IOException e) {
      throw new IllegalStateException("could not bundle the push", e);
    }
    try {
      long id =
          transactions.inTransaction(
              () -> {
                var keys = new org.springframework.jdbc.support.GeneratedKeyHolder();
                jdbc.sql("INSERT INTO code_push (bundle, pushed_at, instance) VALUES (?, ?, ?)")
                    .params(bundle, Times.db(clock.instant()), instance)
                    .update(keys);
                long push = keys.getKey().longValue();
                for (ReceiveCommand c : todo) {
                  if (!moveShared(c, push)) {
                    throw new LostRace(
                        "another server instance moved " + c.getRefName() + " meanwhile: fetch and push again");
                  }
                }
                jdbc.sql("UPDATE grid_signal SET code = code + 1 WHERE id = 1").update();
                return push;
              });
      for (ReceiveCommand c : todo) {
        moveLocal(c.getRefName(), c.getType() == ReceiveCommand.Type.DELETE ? null : c.getNewId());
        c.setResult(ReceiveCommand.Result.OK);
      }
      log.info("push {} recorded ({} bytes, {})", id, bundle.length, todo.stream().map(ReceiveCommand::getRefName).toList());
    } catch (LostRace e) {
      todo.forEach(c -> c.setResult(ReceiveCommand.Result.REJECTED_OTHER_REASON, e.getMessage()));
    } catch (IOException | RuntimeException e) {
      log.warn("could not record a push: {}", e.toString());
      todo.forEach(
          c -> c.setResult(ReceiveCommand.Result.REJECTED_OTHER_REASON, "could not record the push, try again"));
    }
  }

  private boolean moveShared(ReceiveCommand c, long push) {
    String name = c.getRefName();
    return switch (c.getType()) {
      case CREATE ->
          jdbc.sql("INSERT IGNORE INTO code_ref (name, object_id, push_id) VALUES (?, ?, ?)")
                  .params(name, c.getNewId().name(), push)
                  .update()
              == 1;
      case DELETE ->
          jdbc.sql("DELETE FROM code_ref WHERE name = ? AND object_id = ?")
                  .params(name, c.getOldId().name())
                  .update()
              == 1;
      default ->
          jdbc.sql("UPDATE code_ref SET object_id = ?, push_id = ? WHERE name = ? AND object_id = ?")
                  .params(c.getNewId().name(), push, name, c.getOldId().name())
                  .update()
              == 1;
    };
  }

  /** The shared refs' commits this copy has: what every other instance has too (earlier bundles). */
  private List<ObjectId> sharedTips() {
    return jdbc.sql("SELECT object_id FROM code_ref").query(String.class).list().stream()
        .map(ObjectId::fromString)
        .toList();
  }

  /** A bundle of {@code tips}, without what {@code known} commits reach. */
  private byte[] bundle(Map<String, ObjectId> tips, List<ObjectId> known) throws IOException {
    BundleWriter writer = new BundleWriter(repository);
    tips.forEach(writer::include);
    try (RevWalk walk = new RevWalk(repository)) {
      for (ObjectId id : known) {
        try {
          writer.assume(walk.parseCommit(id));
        } catch (MissingObjectException | org.eclipse.jgit.errors.IncorrectObjectTypeException notHere) {
          // not in this copy: then nothing pushed here builds on it
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writer.writeBundle(NullProgressMonitor.INSTANCE, out);
    return out.toByteArray();
  }

  /** Catches up soon, on the sync thread (another instance signalled a push or promotion). */
  public void catchUpSoon() {
    if (queued.compareAndSet(false, true)) {
      background.execute(
          () -> {
            queued.set(false);
            try {
              catchUp();
            } catch (RuntimeException e) {
              if (DatabaseOutage.isCause(e)) {
                DatabaseOutage.noted(e);
              } else {
                log.warn("code sync failed, will try again: {}", e.toString());
              }
            }
          });
    }
  }

  /**
   * Imports the pushes this copy lacks, makes its branches and tags equal to the shared ones and its worker branch
   * equal to the latest release. One query when nothing changed.
   */
  public synchronized void catchUp() {
    Map<String, Object> latest =
        jdbc.sql("SELECT (SELECT MAX(id) FROM code_push) AS push, (SELECT MAX(id) FROM code_release) AS rel")
            .query()
            .singleRow();
    long push = latest.get("push") == null ? 0 : ((Number) latest.get("push")).longValue();
    long release = latest.get("rel") == null ? 0 : ((Number) latest.get("rel")).longValue();
    try {
      if (!mirrored && push != pushSeen) {
        if (pushSeen < 0) {
          pushSeen = imported();
          if (pushSeen > push) {
            pushSeen = 0; // this copy was imported from another database
          }
          if (push == 0) {
            seed();
            push = pushSeen;
          }
        }
        importPushes();
        applyRefs();
      }
      if (release != releaseSeen) {
        followRelease();
        releaseSeen = release;
      }
    } catch (IOException e) {
      throw new IllegalStateException("could not sync the code repository", e);
    }
  }

  /** Pushes already imported into this copy (kept in its Git config, so a restart does not import all again). */
  private long imported() {
    return repository.getConfig().getLong("nightshift", null, "importedPush", 0);
  }

  private void importPushes() throws IOException {
    List<Long> ids =
        jdbc.sql("SELECT id FROM code_push WHERE id > ? ORDER BY id").param(pushSeen).query(Long.class).list();
    for (long id : ids) {
      byte[] bundle =
          jdbc.sql("SELECT bundle FROM code_push WHERE id = ?").param(id).query(byte[].class).single();
      if (bundle.length > 0) {
        try (Transport transport =
            new TransportBundleStream(
                repository, new URIish().setScheme("bundle").setPath("/code_push/" + id),
                new ByteArrayInputStream(bundle))) {
          transport.fetch(NullProgressMonitor.INSTANCE, List.of(new RefSpec("+refs/*:" + IMPORT + "*")));
        } catch (org.eclipse.jgit.api.errors.JGitInternalException | org.eclipse.jgit.errors.TransportException e) {
          throw new IOException("push " + id + " could not be imported: " + e.getMessage(), e);
        }
      }
      pushSeen = id;
      repository.getConfig().setLong("nightshift", null, "importedPush", id);
      repository.getConfig().save();
    }
    for (Ref ref : repository.getRefDatabase().getRefsByPrefix(IMPORT)) {
      RefUpdate delete = repository.updateRef(ref.getName());
      delete.setForceUpdate(true);
      delete.delete(); // the objects stay; only shared refs make them fetchable
    }
    if (!ids.isEmpty()) {
      log.info("imported pushes up to {} from the database", pushSeen);
    }
  }

  /** Makes this copy's branches and tags those of {@code code_ref} (the worker branch is the release's). */
  private void applyRefs() throws IOException {
    Map<String, ObjectId> shared = new LinkedHashMap<>();
    jdbc.sql("SELECT name, object_id FROM code_ref")
        .query((rs, n) -> shared.put(rs.getString(1), ObjectId.fromString(rs.getString(2))))
        .list();
    for (var e : shared.entrySet()) {
      Ref local = repository.exactRef(e.getKey());
      if (local == null || !e.getValue().equals(local.getObjectId())) {
        if (repository.getObjectDatabase().has(e.getValue())) {
          moveLocal(e.getKey(), e.getValue());
        } else {
          log.warn("{} -> {}: object not imported yet", e.getKey(), e.getValue().name());
        }
      }
    }
    List<Ref> locals = new ArrayList<>(repository.getRefDatabase().getRefsByPrefix(Constants.R_HEADS));
    locals.addAll(repository.getRefDatabase().getRefsByPrefix(Constants.R_TAGS));
    for (Ref local : locals) {
      if (!local.getName().equals(CodeRepository.WORKER_REF) && !shared.containsKey(local.getName())) {
        moveLocal(local.getName(), null);
      }
    }
  }

  private void moveLocal(String name, ObjectId to) throws IOException {
    RefUpdate update = repository.updateRef(name);
    update.setForceUpdate(true);
    RefUpdate.Result result;
    if (to == null) {
      result = update.delete();
    } else {
      update.setNewObjectId(to);
      update.setRefLogMessage("nightshift code sync", false);
      result = update.update();
    }
    switch (result) {
      case NEW, FAST_FORWARD, FORCED, NO_CHANGE -> {}
      default -> throw new IOException("could not move " + name + ": " + result);
    }
  }

  /** Points the worker branch at the latest release, mirroring the upstream first when the commit is unknown. */
  private void followRelease() {
    String commit =
        jdbc.sql("SELECT commit_sha FROM code_release ORDER BY id DESC LIMIT 1").query(String.class).optional()
            .orElse(null);
    if (commit == null) {
      return;
    }
    ObjectId target = ObjectId.fromString(commit);
    if (target.equals(code.workerCommit().orElse(null))) {
      return;
    }
    try {
      if (!repository.getObjectDatabase().has(target) && mirrored && mirror.getIfAvailable() != null) {
        mirror.getIfAvailable().mirror();
      }
      if (repository.getObjectDatabase().has(target)) {
        code.moveWorker(target, true);
        log.info("worker branch follows the release {}", commit);
      } else {
        log.warn("the release {} is not in this instance's repository yet", commit);
      }
    } catch (IOException | RuntimeException e) {
      log.warn("could not follow the release {}: {}", commit, e.toString());
    }
  }

  /**
   * The first instance that uses the shared tables brings its existing repository along (an upgrade from one
   * instance): one bundle of all its refs.
   */
  private void seed() throws IOException {
    Map<String, ObjectId> tips = new LinkedHashMap<>();
    for (Ref ref : repository.getRefDatabase().getRefs()) {
      if ((ref.getName().startsWith(Constants.R_HEADS) || ref.getName().startsWith(Constants.R_TAGS))
          && ref.getObjectId() != null) {
        tips.put(ref.getName(), ref.getObjectId());
      }
    }
    if (tips.isEmpty()) {
      return;
    }
    byte[] bundle = bundle(tips, List.of());
    Long id =
        transactions.inTransaction(
            () -> {
              if (jdbc.sql("SELECT COUNT(*) FROM code_push").query(Long.class).single() > 0) {
                return null; // another instance seeded first: its refs win
              }
              var keys = new org.springframework.jdbc.support.GeneratedKeyHolder();
              jdbc.sql("INSERT INTO code_push (bundle, pushed_at, instance) VALUES (?, ?, ?)")
                  .params(bundle, Times.db(clock.instant()), instance)
                  .update(keys);
              long push = keys.getKey().longValue();
              tips.forEach(
                  (name, tip) -> {
                    if (!name.equals(CodeRepository.WORKER_REF)) {
                      jdbc.sql("INSERT IGNORE INTO code_ref (name, object_id, push_id) VALUES (?, ?, ?)")
                          .params(name, tip.name(), push)
                          .update();
                    }
                  });
              jdbc.sql("UPDATE grid_signal SET code = code + 1 WHERE id = 1").update();
              return push;
            });
    if (id != null) {
      log.info("seeded the shared code repository with this instance's {} refs (push {})", tips.size(), id);
    }
  }

  /** Catches up every few seconds in case a signal was missed. */
  private void periodic() {
    while (running) {
      try {
        Thread.sleep(PERIOD_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
      catchUpSoon();
    }
  }

  @Override
  public void start() {
    running = true;
    catchUpSoon();
    Thread t = new Thread(this::periodic, "code-sync-timer");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void stop() {
    running = false;
    background.shutdownNow();
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
