package dev.nightshift.server.code;

import dev.nightshift.protocol.AgentPaths;
import dev.nightshift.server.system.NightshiftProperties;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The bare Git repository that holds the processing code ({@code <data-dir>/git/code.git}), served at
 * {@code /git/code.git}. Admins push branches; the {@code worker} branch moves only by promotion.
 */
@Component
public class CodeRepository implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CodeRepository.class);
  public static final String WORKER_REF = Constants.R_HEADS + AgentPaths.WORKER_BRANCH;
  private final Repository repository;

  CodeRepository(NightshiftProperties properties) throws IOException, GitAPIException {
    // the server's OS user only: the repository keeps every object ever pushed, deleted secrets included
    dev.nightshift.server.system.PrivateFiles.privateDir(properties.dataDir());
    dev.nightshift.server.system.PrivateFiles.privateDir(properties.dataDir().resolve("git"));
    Path dir = properties.dataDir().resolve("git").resolve("code.git");
    if (!Files.exists(dir.resolve("HEAD"))) {
      Files.createDirectories(dir);
      Git.init().setBare(true).setDirectory(dir.toFile()).setInitialBranch("main").call().close();
      log.info("created the code repository {}", dir);
    }
    this.repository = new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().build();
    // Fetching a pinned commit by id must work as long as some branch or tag reaches it.
    repository.getConfig().setBoolean("uploadpack", null, "allowReachableSHA1InWant", true);
    repository.getConfig().save();
  }

  /** Brings this copy up to date with the other server instances' pushes and promotions (set by CodeSync). */
  private volatile Runnable catchUp = () -> {};

  void catchUpWith(Runnable catchUp) {
    this.catchUp = catchUp;
  }

  /** Catches up with the other instances; a failure (the database is away) leaves this copy as it is. */
  public void catchUp() {
    try {
      catchUp.run();
    } catch (RuntimeException e) {
      if (dev.nightshift.server.system.DatabaseOutage.isCause(e)) {
        dev.nightshift.server.system.DatabaseOutage.noted(e);
      } else {
        log.warn("could not catch up with the shared code repository: {}", e.toString());
      }
    }
  }

  public Repository repository() {
    return repository;
  }

  /**
   * A commit named by a branch ({@code main}, {@code refs/heads/main}), a tag, or a full or abbreviated commit id;
   * empty when nothing of that name exists.
   */
  public Optional<ObjectId> resolveCommit(String name) {
    if (name == null || name.isBlank() || name.contains("..") || name.startsWith("-")) {
      return Optional.empty();
    }
    Optional<ObjectId> here = resolveHere(name);
    if (here.isEmpty()) {
      catchUp(); // perhaps pushed through another server instance
      here = resolveHere(name);
    }
    return here;
  }

  private Optional<ObjectId> resolveHere(String name) {
    try {
      ObjectId id = repository.resolve(name.trim() + "^{commit}");
      return Optional.ofNullable(id);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Whether the commit object is in the repository. */
  public boolean hasCommit(String sha) {
    return resolveCommit(sha).filter(id -> id.name().equals(sha)).isPresent();
  }

  /** The commit the worker branch points at, if it exists. */
  public Optional<ObjectId> workerCommit() {
    try {
      Ref ref = repository.exactRef(WORKER_REF);
      return Optional.ofNullable(ref == null ? null : ref.getObjectId());
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + WORKER_REF, e);
    }
  }

  /** True when {@code ancestor} is reachable from {@code descendant} (moving from one to the other fast-forwards). */
  public boolean isAncestor(ObjectId ancestor, ObjectId descendant) {
    try (RevWalk walk = new RevWalk(repository)) {
      return walk.isMergedInto(walk.parseCommit(ancestor), walk.parseCommit(descendant));
    } catch (IOException e) {
      throw new IllegalStateException("cannot compare commits", e);
    }
  }

  /**
   * The version tag of a commit: the first line of its {@code VERSION} file, else {@code git describe --tags
   * --always}.
   */
  /** The first line of a commit's message, or empty when the commit is unknown here. */
  public Optional<String> subject(String sha) {
    try (RevWalk walk = new RevWalk(repository)) {
      ObjectId id = ObjectId.fromString(sha);
      return Optional.of(walk.parseCommit(id).getShortMessage());
    } catch (IOException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  public String versionOf(ObjectId commit) {
    try {
      if (!repository.getObjectDatabase().has(commit)) {
        catchUp(); // pushed through another server instance
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + commit.name(), e);
    }
    try (RevWalk walk = new RevWalk(repository);
        ObjectReader reader = repository.newObjectReader()) {
      RevCommit c = walk.parseCommit(commit);
      try (TreeWalk tree = TreeWalk.forPath(reader, "VERSION", c.getTree())) {
        if (tree != null) {
          String text = new String(reader.open(tree.getObjectId(0)).getBytes(4096), StandardCharsets.UTF_8);
          String first = text.lines().findFirst().orElse("").strip();
          if (!first.isEmpty()) {
            return first.length() > 200 ? first.substring(0, 200) : first;
          }
        }
      }
      try (Git git = new Git(repository)) {
        String described = git.describe().setTarget(commit).setTags(true).setAlways(true).call();
        return described == null ? commit.abbreviate(7).name() : described;
      }
    } catch (IOException | GitAPIException e) {
      throw new IllegalStateException("cannot read the version of " + commit.name(), e);
    }
  }

  /** Points the worker branch at {@code commit}; {@code force} allows a move that is not a fast-forward. */
  public void moveWorker(ObjectId commit, boolean force) {
    try {
      RefUpdate update = repository.updateRef(WORKER_REF);
      update.setNewObjectId(commit);
      update.setForceUpdate(force);
      update.setRefLogMessage("nightshift promotion", false);
      RefUpdate.Result result = update.update();
      switch (result) {
        case NEW, FAST_FORWARD, FORCED, NO_CHANGE -> {}
        default -> throw new IllegalStateException("could not move " + WORKER_REF + ": " + result);
      }
    } catch (IOException e) {
      throw new IllegalStateException("could not move " + WORKER_REF, e);
    }
  }

  @Override
  public void close() {
    repository.close();
  }
}
