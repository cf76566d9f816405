package dev.nightshift.agent.sync;

import dev.nightshift.agent.runner.ForkLock;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * A small bounded cache of per-commit checkouts ({@code <data>/code/checkouts/<commit>/}), so slots running
 * different commits never disturb each other: each tree is written into a temporary directory and renamed into
 * place whole, a checkout in use is pinned until its run ends, and only unpinned, least recently used checkouts
 * are evicted. A checkout is reused by later batches of the same commit as it is (files a script wrote in it stay).
 */
public final class Checkouts {
  private static final Logger LOG = Logger.getLogger(Checkouts.class.getName());
  private static final String TMP = ".tmp-";
  private static final String TRASH = ".trash-";

  private final CodeRepository repo;
  private final Path dir;
  private final int capacity;
  private final Clock clock;
  /** By commit, least recently used first (insertion order; a use moves the entry to the end). */
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
  private final AtomicInteger materialized = new AtomicInteger();
  private boolean scanned;
  /** Half-written or half-deleted trees of a previous run, deleted by the next eviction (outside the lock). */
  private final List<Path> leftovers = new ArrayList<>();
  private volatile boolean symlinkWarned;

  /** One commit's checkout: its directory, how many runs use it, and when its tree is written. */
  private static final class Entry {
    final String commit;
    final Path dir;
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    int pins; // guarded by Checkouts.this

    Entry(String commit, Path dir) {
      this.commit = commit;
      this.dir = dir;
    }

    boolean isReady() {
      return ready.isDone() && !ready.isCompletedExceptionally();
    }
  }

  /** A checkout pinned for one run; closing it unpins it (once). */
  public final class Handle implements AutoCloseable {
    private final Entry entry;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Handle(Entry entry) {
      this.entry = entry;
    }

    public String commit() {
      return entry.commit;
    }

    public Path dir() {
      return entry.dir;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        synchronized (Checkouts.this) {
          entry.pins--;
        }
        evict();
      }
    }
  }

  /**
   * @param repo where commits come from
   * @param dir the checkouts' parent directory, created on first use
   * @param capacity how many checkouts are kept (more only while more commits are in use at once)
   */
  public Checkouts(CodeRepository repo, Path dir, int capacity, Clock clock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.repo = repo;
    this.dir = dir;
    this.capacity = capacity;
    this.clock = clock;
  }

  /**
   * The checkout of {@code commit}, fetched and written first if needed, pinned until the handle is closed.
   * Concurrent calls for one commit write it once; the others wait for it.
   *
   * @throws CodeUnavailableException when the commit cannot be fetched
   * @throws IOException when its tree cannot be written
   */
  public Handle acquire(String commit) throws IOException {
    String key = CodeRepository.parse(commit).name();
    Entry e;
    boolean mine;
    synchronized (this) {
      scanOnce();
      e = entries.remove(key);
      mine = e == null;
      if (mine) {
        e = new Entry(key, dir.resolve(key));
      }
      entries.put(key, e); // most recently used
      e.pins++;
    }
    try {
      if (mine) {
        materialize(e);
      } else {
        await(e);
      }
    } catch (IOException | RuntimeException | Error x) {
      synchronized (this) {
        e.pins--;
      }
      throw x;
    }
    touch(e);
    evict();
    return new Handle(e);
  }

  /** Fetches and writes the checkout of {@code commit} ahead of its first run, without keeping it pinned. */
  public void prepare(String commit) throws IOException {
    acquire(commit).close();
  }

  /** Whether the checkout of {@code commit} is written and kept. */
  public synchronized boolean isReady(String commit) {
    scanOnce();
    Entry e = commit == null ? null : entries.get(commit.toLowerCase(Locale.ROOT));
    return e != null && e.isReady();
  }

  /** The commits kept, least recently used first. */
  public synchronized List<String> commits() {
    scanOnce();
    return List.copyOf(entries.keySet());
  }

  /** Where the commits come from. */
  CodeRepository code() {
    return repo;
  }

  /** How many trees this cache has written since it started: for tests and diagnostics. */
  int materializedCount() {
    return materialized.get();
  }

  // ---------------------------------------------------------------- writing a tree

  private void materialize(Entry e) throws IOException {
    try {
      repo.ensure(e.commit);
      long started = System.nanoTime();
      Files.createDirectories(dir);
      if (Files.exists(e.dir, LinkOption.NOFOLLOW_LINKS)) { // left by an eviction that could not move it away
        deleteTree(moveAside(e.dir));
      }
      Path tmp = dir.resolve(TMP + e.commit + "-" + UUID.randomUUID());
      int files;
      try {
        Files.createDirectory(tmp);
        files = writeTree(e.commit, tmp);
        move(tmp, e.dir);
      } finally {
        deleteQuietly(tmp);
      }
      materialized.incrementAndGet();
      LOG.info("checked out commit " + CodeRepository.abbreviate(e.commit) + " into " + e.dir + " (" + files
          + " files, " + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms)");
      e.ready.complete(null);
    } catch (IOException | RuntimeException | Error x) {
      synchronized (this) {
        entries.remove(e.commit, e); // the next acquire tries again
      }
      e.ready.completeExceptionally(x);
      throw x;
    }
  }

  private static void await(Entry e) throws IOException {
    try {
      e.ready.get();
    } catch (InterruptedException x) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the checkout of " + e.commit, x);
    } catch (ExecutionException x) {
      Throwable cause = x.getCause();
      if (cause instanceof CodeUnavailableException c) {
        throw new CodeUnavailableException(c.getMessage(), c, c.isTransient());
      }
      if (cause instanceof IOException io) {
        throw new IOException(io.getMessage(), io);
      }
      throw new IOException(String.valueOf(cause), cause);
    }
  }

  /** Writes the tree of {@code commit} under {@code root}; returns how many entries it wrote. */
  private int writeTree(String commit, Path root) throws IOException {
    Repository r = repo.repository();
    int count = 0;
    Path realRoot = root.toRealPath();
    Path checkedParent = null;
    try (RevWalk rw = new RevWalk(r);
        TreeWalk tw = new TreeWalk(r)) {
      RevCommit c = rw.parseCommit(ObjectId.fromString(commit));
      tw.addTree(c.getTree());
      tw.setRecursive(true);
      ObjectReader reader = tw.getObjectReader();
      while (tw.next()) {
        String path = tw.getPathString();
        Path target = resolve(root, path);
        Path parent = target.getParent();
        if (!parent.equals(checkedParent)) {
          Files.createDirectories(parent);
          if (!parent.toRealPath().startsWith(realRoot)) { // e.g. through a symlink on a case-insensitive disk
            throw new IOException("refusing to write '" + path + "': its directory leads outside the checkout");
          }
          checkedParent = parent;
        }
        int mode = tw.getRawMode(0);
        if (FileMode.GITLINK.equals(mode)) {
          Files.createDirectories(target);
          LOG.info("commit " + CodeRepository.abbreviate(commit) + ": skipping submodule '" + path
              + "' (submodules are not checked out)");
          continue;
        }
        ObjectLoader blob = reader.open(tw.getObjectId(0), Constants.OBJ_BLOB);
        if (FileMode.SYMLINK.equals(mode)) {
          symlink(target, new String(blob.getCachedBytes(), StandardCharsets.UTF_8), blob);
        } else {
          write(target, blob);
          if (FileMode.EXECUTABLE_FILE.equals(mode)) {
            makeExecutable(target);
          }
        }
        count++;
      }
    }
    return count;
  }

  /** {@code path} (from a tree) under {@code root}, refusing anything that would land outside it. */
  private static Path resolve(Path root, String path) throws IOException {
    for (String part : path.split("/")) {
      if (part.isEmpty() || part.equals(".") || part.equals("..") || part.indexOf('\\') >= 0
          || part.indexOf(':') >= 0) {
        throw new IOException("refusing to write '" + path + "': not a safe path");
      }
    }
    Path target = root.resolve(path).normalize();
    if (!target.startsWith(root) || target.equals(root)) {
      throw new IOException("refusing to write '" + path + "': it leads outside the checkout");
    }
    return target;
  }

  /** A symlink where the OS allows one, else (Windows without the privilege) a file holding the target. */
  private void symlink(Path link, String target, ObjectLoader blob) throws IOException {
    try {
      Files.createSymbolicLink(link, Path.of(target));
      return;
    } catch (UnsupportedOperationException | FileSystemException | SecurityException
        | java.nio.file.InvalidPathException e) {
      if (!symlinkWarned) {
        symlinkWarned = true;
        LOG.info("cannot create symlinks here (" + e.getMessage() + "): writing them as files holding the target");
      }
    }
    write(link, blob);
  }

  /** Writes one file; no script starts while it is open (see {@link ForkLock}). */
  private static void write(Path file, ObjectLoader blob) throws IOException {
    Lock writing = ForkLock.writing();
    writing.lock();
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      blob.copyTo(out);
    } finally {
      writing.unlock();
    }
  }

  private static void makeExecutable(Path file) throws IOException {
    try {
      Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
      p.add(PosixFilePermission.OWNER_EXECUTE);
      if (p.contains(PosixFilePermission.GROUP_READ)) {
        p.add(PosixFilePermission.GROUP_EXECUTE);
      }
      if (p.contains(PosixFilePermission.OTHERS_READ)) {
        p.add(PosixFilePermission.OTHERS_EXECUTE);
      }
      Files.setPosixFilePermissions(file, p);
    } catch (UnsupportedOperationException e) {
      file.toFile().setExecutable(true); // Windows: every file may run; nothing to mark
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to);
    }
  }

  // ---------------------------------------------------------------- the cache

  /** Takes up the checkouts a previous run left (oldest first) and removes its half-written ones. */
  private void scanOnce() {
    if (scanned) {
      return;
    }
    scanned = true;
    if (!Files.isDirectory(dir)) {
      return;
    }
    List<Path> kept = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        String name = p.getFileName().toString();
        if (name.startsWith(TMP) || name.startsWith(TRASH)) {
          leftovers.add(p);
        } else if (name.length() == 40 && ObjectId.isId(name) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          kept.add(p);
        }
      }
    } catch (IOException e) {
      LOG.warning("cannot read " + dir + ": " + e.getMessage());
    }
    kept.sort(Comparator.comparing(Checkouts::lastModified));
    for (Path p : kept) {
      Entry e = new Entry(p.getFileName().toString(), p);
      e.ready.complete(null);
      entries.put(e.commit, e);
    }
    if (!kept.isEmpty()) {
      LOG.fine(() -> "found " + kept.size() + " checkout(s) in " + dir);
    }
    // evicted by the first acquire (outside this lock)
  }

  private static FileTime lastModified(Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  /** Records the use on disk too, so the order survives a restart. */
  private void touch(Entry e) {
    try {
      Files.setLastModifiedTime(e.dir, FileTime.from(clock.instant()));
    } catch (IOException x) {
      // only the order after a restart suffers
    }
  }

  /** Removes unpinned, least recently used checkouts beyond the capacity; never one in use or being written. */
  private void evict() {
    List<Path> trash = new ArrayList<>();
    synchronized (this) {
      trash.addAll(leftovers);
      leftovers.clear();
      int excess = entries.size() - capacity;
      List<Entry> stuck = new ArrayList<>();
      for (Iterator<Entry> it = entries.values().iterator(); excess > 0 && it.hasNext(); ) {
        Entry e = it.next();
        if (e.pins > 0 || !e.isReady()) {
          continue;
        }
        it.remove();
        excess--;
        try {
          trash.add(moveAside(e.dir)); // renamed under the lock: a new checkout of it never meets the old tree
          LOG.fine(() -> "evicted the checkout of commit " + CodeRepository.abbreviate(e.commit));
        } catch (IOException x) {
          LOG.warning("cannot remove the checkout " + e.dir + " (" + x.getMessage() + "); will try again later");
          stuck.add(e);
        }
      }
      stuck.forEach(e -> entries.put(e.commit, e));
    }
    trash.forEach(Checkouts::deleteQuietly);
  }

  private Path moveAside(Path p) throws IOException {
    Path t = dir.resolve(TRASH + p.getFileName() + "-" + UUID.randomUUID());
    move(p, t);
    return t;
  }

  private static void deleteTree(Path p) throws IOException {
    CodeRepository.deleteTree(p);
  }

  private static void deleteQuietly(Path p) {
    try {
      deleteTree(p);
    } catch (IOException e) {
      LOG.fine(() -> "cannot delete " + p + ": " + e.getMessage() + " (removed at the next start)");
    }
  }

  @Override
  public synchronized String toString() {
    return "Checkouts[" + dir + ", " + entries.size() + "/" + capacity + "]";
  }
}
