package dev.nightshift.agent.sync;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.RepositoryCache;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import dev.nightshift.agent.client.TrustedCa;
import java.net.Proxy;
import java.net.URL;
import java.security.GeneralSecurityException;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.TransportHttp;
import org.eclipse.jgit.transport.http.HttpConnection;
import org.eclipse.jgit.transport.http.HttpConnectionFactory;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.TagOpt;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.util.FS;

/**
 * The agent's local clone of the server's code: a bare repository ({@code <data>/code/repo.git}) that fetches
 * from the server only when a commit it is asked for is missing, so a small change costs a small pack.
 */
public final class CodeRepository implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(CodeRepository.class.getName());
  /** Every branch of the server, kept as remote-tracking refs: later fetches negotiate against them. */
  static final String BRANCHES = "+refs/heads/*:refs/remotes/origin/*";
  /** Where commits fetched by id (not on any branch tip) are kept, so they stay reachable locally. */
  static final String COMMITS_PREFIX = "refs/nightshift/commits/";

  private final Path gitDir;
  private final TrustedCa trustedCa;
  private final String remote;
  private final Supplier<String> token;
  private final Duration timeout;
  private final Object fetchLock = new Object();
  private final AtomicInteger fetches = new AtomicInteger();
  private volatile Repository repository;

  /**
   * @param gitDir the bare repository, created on first use
   * @param remote the server's repository URL, e.g. {@code http://grid:8080/git/code.git} ({@code file://} in tests)
   * @param token the agent token, read at every fetch (it changes when the agent enrolls again); null for none
   * @param timeout how long a fetch may wait on the network before it fails
   */
  public CodeRepository(Path gitDir, String remote, Supplier<String> token, Duration timeout) {
    this(gitDir, remote, token, timeout, null);
  }

  /**
   * Like the other constructor, trusting the given CA for HTTPS fetches.
   *
   * @param trustedCa the CA to trust instead of the JDK's defaults, or null for the defaults
   */
  public CodeRepository(
      Path gitDir, String remote, Supplier<String> token, Duration timeout, TrustedCa trustedCa) {
    this.trustedCa = trustedCa;
    this.gitDir = gitDir;
    this.remote = remote;
    this.token = token;
    this.timeout = timeout;
  }

  /**
   * Makes sure {@code commit} is in the local repository: no network when it already is; else fetches every branch
   * of the server (incrementally), then the commit itself if no branch has it.
   *
   * @param commit a full commit id
   * @throws CodeUnavailableException when the commit is not on the server or the server cannot be fetched from
   */
  public void ensure(String commit) throws CodeUnavailableException {
    ObjectId id = parse(commit);
    if (has(id)) {
      return;
    }
    synchronized (fetchLock) { // one fetch at a time; whoever waited finds the commit fetched by the one before
      if (has(id)) {
        return;
      }
      fetch(new RefSpec(BRANCHES), e -> unreachable(e));
      if (has(id)) {
        return;
      }
      String reason = "";
      try {
        fetch(new RefSpec(id.name() + ":" + COMMITS_PREFIX + id.name()), e -> new CodeUnavailableException(
            describe(e), e));
      } catch (CodeUnavailableException e) {
        reason = e.getMessage();
        LOG.log(Level.FINE, "fetching commit " + id.name() + " by id failed", e);
      }
      if (!has(id)) {
        throw new CodeUnavailableException(
            "commit " + abbreviate(id.name()) + " is not on the server (fetched refs from " + remote
                + "): was it pushed?" + (reason.isEmpty() ? "" : " (asking for it by id: " + reason + ")"));
      }
    }
  }

  /** Whether the commit's objects are here (a fetch brings a commit with everything it needs, or nothing). */
  public boolean has(String commit) throws CodeUnavailableException {
    return has(parse(commit));
  }

  /** How many fetches this repository has made: for tests and diagnostics. */
  public int fetchCount() {
    return fetches.get();
  }

  private boolean has(ObjectId id) throws CodeUnavailableException {
    try {
      return repository().getObjectDatabase().has(id);
    } catch (IOException e) {
      throw new CodeUnavailableException("cannot read the local code repository " + gitDir + ": " + e.getMessage(), e);
    }
  }

  private interface ErrorMapper {
    CodeUnavailableException map(Exception e);
  }

  private void fetch(RefSpec spec, ErrorMapper onError) throws CodeUnavailableException {
    Repository repo;
    try {
      repo = repository();
    } catch (IOException e) {
      throw new CodeUnavailableException("cannot open the local code repository " + gitDir + ": " + e.getMessage(), e);
    }
    fetches.incrementAndGet();
    long started = System.nanoTime();
    try (Git git = Git.wrap(repo)) {
      git.fetch()
          .setRemote(remote)
          .setRefSpecs(spec)
          .setTagOpt(TagOpt.NO_TAGS)
          .setCredentialsProvider(credentials())
          .setTransportConfigCallback(this::trust)
          .setTimeout((int) Math.max(1, timeout.toSeconds()))
          .call();
      LOG.fine(() -> "fetched " + spec + " from " + remote + " in "
          + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms");
    } catch (GitAPIException | JGitInternalException e) {
      throw onError.map(e);
    }
  }

  /** JGit's HTTP transport uses the JDK's connection: give HTTPS connections the trusted CA. */
  private void trust(Transport transport) {
    if (trustedCa != null && transport instanceof TransportHttp http) {
      HttpConnectionFactory plain = http.getHttpConnectionFactory();
      http.setHttpConnectionFactory(
          new HttpConnectionFactory() {
            @Override
            public HttpConnection create(URL url) throws IOException {
              return configured(plain.create(url), url);
            }

            @Override
            public HttpConnection create(URL url, Proxy proxy) throws IOException {
              return configured(plain.create(url, proxy), url);
            }
          });
    }
  }

  private HttpConnection configured(HttpConnection connection, URL url) throws IOException {
    if ("https".equalsIgnoreCase(url.getProtocol())) {
      try {
        connection.configure(null, trustedCa.trustManagers(), null);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot use CA file " + trustedCa.file() + ": " + e.getMessage(), e);
      }
    }
    return connection;
  }

  private CredentialsProvider credentials() {
    String t = token.get();
    return t == null ? null : new UsernamePasswordCredentialsProvider("agent", t);
  }

  private CodeUnavailableException unreachable(Exception e) {
    String cause = describe(e);
    String lower = cause.toLowerCase(Locale.ROOT);
    String hint = "";
    if (lower.contains("not authorized") || lower.contains("401") || lower.contains("authentication is required")) {
      hint = " (401 Unauthorized) — is the agent token revoked?";
    } else if (lower.contains("403") || lower.contains("forbidden")) {
      hint = " — does the agent token belong to an enabled worker?";
    } else if (lower.contains("not found") || lower.contains("404")) {
      hint = " — is the server's address right?";
    }
    return new CodeUnavailableException("could not fetch from " + remote + ": " + cause + hint, e, hint.isEmpty());
  }

  /** The messages of a JGit failure's causes, e.g. "connection failed: Connection refused", without the URL. */
  private String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    java.util.Set<Throwable> seen = new java.util.HashSet<>();
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      if (t instanceof GitAPIException && t.getCause() != null) {
        continue; // JGit's API wrapper repeats its cause
      }
      String m = t.getMessage();
      if (t instanceof java.net.UnknownHostException) {
        m = "unknown host " + m;
      }
      if (m == null || m.isBlank()) {
        m = t.getClass().getSimpleName();
      }
      m = m.replace(remote + ": ", "").replace('\n', ' ').trim();
      while (m.endsWith(".")) {
        m = m.substring(0, m.length() - 1);
      }
      if (!m.isEmpty() && sb.indexOf(m) < 0) {
        sb.append(sb.length() == 0 ? "" : ": ").append(m);
      }
    }
    return sb.toString();
  }

  static ObjectId parse(String commit) throws CodeUnavailableException {
    if (commit == null || commit.length() != 40 || !ObjectId.isId(commit.toLowerCase(Locale.ROOT))) {
      throw new CodeUnavailableException("'" + commit + "' is not a full commit id (40 hex digits)");
    }
    return ObjectId.fromString(commit.toLowerCase(Locale.ROOT));
  }

  static String abbreviate(String commit) {
    return commit.length() > 7 ? commit.substring(0, 7) : commit;
  }

  /** The repository, opened (and created if needed) on first use. */
  Repository repository() throws IOException {
    Repository r = repository;
    if (r != null) {
      return r;
    }
    synchronized (this) {
      if (repository == null) {
        repository = openOrCreate();
      }
      return repository;
    }
  }

  private Repository openOrCreate() throws IOException {
    boolean exists = RepositoryCache.FileKey.isGitRepository(gitDir.toFile(), FS.DETECTED);
    if (!exists && Files.exists(gitDir)) {
      LOG.warning(gitDir + " is not a Git repository; replacing it");
      deleteTree(gitDir);
    }
    Repository r = new FileRepositoryBuilder().setGitDir(gitDir.toFile()).setBare().build();
    if (!exists) {
      Files.createDirectories(gitDir.getParent());
      r.create(true);
      StoredConfig c = r.getConfig();
      c.setBoolean("core", null, "logAllRefUpdates", false);
      c.save();
      LOG.info("created the local code repository " + gitDir);
    }
    return r;
  }

  static void deleteTree(Path root) throws IOException {
    dev.nightshift.agent.system.AtomicFiles.deleteTree(root);
  }

  @Override
  public synchronized void close() {
    if (repository != null) {
      repository.close();
      repository = null;
    }
  }
}
