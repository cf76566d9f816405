package dev.nightshift.agent.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.internal.storage.file.PackIndex;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

/**
 * A bare Git repository in a temp dir standing in for the server's {@code /git/code.git}, served as a {@code file://}
 * remote. Commits are built directly from file maps (no working tree), so modes are exact.
 */
public final class GitRemote implements AutoCloseable {
  /** An executable file (mode 100755). */
  public record Exec(String content) {}

  /** A symbolic link (mode 120000). */
  public record Link(String target) {}

  /** A submodule entry (mode 160000). */
  public record Submodule(String commit) {}

  private final Path dir;
  private final Repository repo;
  private int commits;

  private GitRemote(Path dir, Repository repo) {
    this.dir = dir;
    this.repo = repo;
  }

  /** A new bare repository that, like the server, allows fetching any reachable commit by id. */
  public static GitRemote create(Path dir) throws IOException {
    Repository r = new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().build();
    r.create(true);
    StoredConfig c = r.getConfig();
    c.setBoolean("uploadpack", null, "allowReachableSHA1InWant", true);
    c.save();
    return new GitRemote(dir, r);
  }

  public Path dir() {
    return dir;
  }

  public String url() {
    return dir.toUri().toString();
  }

  /**
   * Commits exactly these files (the whole tree) on top of {@code ref}, moving it; a value is a String (regular
   * file), {@link Exec}, {@link Link} or {@link Submodule}. Returns the commit id.
   */
  public String commit(String ref, Map<String, Object> files) throws IOException {
    try (ObjectInserter ins = repo.newObjectInserter()) {
      DirCache index = DirCache.newInCore();
      DirCacheBuilder b = index.builder();
      for (Map.Entry<String, Object> f : files.entrySet()) {
        DirCacheEntry e = new DirCacheEntry(f.getKey());
        Object v = f.getValue();
        if (v instanceof Exec x) {
          e.setFileMode(FileMode.EXECUTABLE_FILE);
          e.setObjectId(ins.insert(Constants.OBJ_BLOB, x.content().getBytes(StandardCharsets.UTF_8)));
        } else if (v instanceof Link l) {
          e.setFileMode(FileMode.SYMLINK);
          e.setObjectId(ins.insert(Constants.OBJ_BLOB, l.target().getBytes(StandardCharsets.UTF_8)));
        } else if (v instanceof Submodule s) {
          e.setFileMode(FileMode.GITLINK);
          e.setObjectId(ObjectId.fromString(s.commit()));
        } else {
          e.setFileMode(FileMode.REGULAR_FILE);
          e.setObjectId(ins.insert(Constants.OBJ_BLOB, ((String) v).getBytes(StandardCharsets.UTF_8)));
        }
        b.add(e);
      }
      b.finish();
      ObjectId tree = index.writeTree(ins);
      CommitBuilder c = new CommitBuilder();
      c.setTreeId(tree);
      Ref tip = repo.exactRef(ref);
      if (tip != null) {
        c.setParentId(tip.getObjectId());
      }
      PersonIdent who = new PersonIdent("Test", "test@example.com");
      c.setAuthor(who);
      c.setCommitter(who);
      c.setMessage("commit " + (++commits));
      ObjectId id = ins.insert(c);
      ins.flush();
      RefUpdate u = repo.updateRef(ref);
      u.setNewObjectId(id);
      u.setForceUpdate(true);
      RefUpdate.Result result = u.update();
      if (result != RefUpdate.Result.NEW && result != RefUpdate.Result.FAST_FORWARD
          && result != RefUpdate.Result.FORCED) {
        throw new IOException("cannot move " + ref + ": " + result);
      }
      return id.name();
    }
  }

  @Override
  public void close() {
    repo.close();
  }

  /** The distinct objects in a repository, packed and loose: to see what a fetch brought. */
  public static Set<String> objectIds(Path gitDir) throws IOException {
    Set<String> ids = new HashSet<>();
    Path objects = gitDir.resolve("objects");
    for (Path idx : packIndexes(gitDir)) {
      for (PackIndex.MutableEntry e : PackIndex.open(idx.toFile())) {
        ids.add(e.name());
      }
    }
    try (Stream<Path> s = Files.list(objects)) {
      for (Path d : s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{2}")).toList()) {
        try (Stream<Path> loose = Files.list(d)) {
          loose.forEach(f -> ids.add(d.getFileName().toString() + f.getFileName()));
        }
      }
    }
    return ids;
  }

  /** The pack index files of a repository: one per fetch that brought objects. */
  public static List<Path> packIndexes(Path gitDir) throws IOException {
    Path packs = gitDir.resolve("objects").resolve("pack");
    if (!Files.isDirectory(packs)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(packs)) {
      return s.filter(p -> p.toString().endsWith(".idx")).sorted().toList();
    }
  }
}
