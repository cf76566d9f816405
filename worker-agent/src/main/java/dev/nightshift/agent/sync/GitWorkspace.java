package dev.nightshift.agent.sync;

import dev.nightshift.agent.runner.Workspace;
import dev.nightshift.agent.runner.WorkspaceException;
import dev.nightshift.agent.runner.WorkspaceProvider;
import dev.nightshift.protocol.Lease;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import dev.nightshift.agent.trust.ReleaseVerifier;
import java.util.logging.Logger;

/**
 * Runs a lease in a checkout of the commit it names, pinned for the run, once its {@link ReleaseVerifier} allows
 * it (a signed release and one of its entry points, unless the agent allows unsigned code). A lease that names no commit is refused:
 * its command does not run and the attempt fails with the reason (the server always names the code to run, so
 * such a lease comes from a server that is broken or not a Nightshift server). A commit that cannot be fetched or checked out fails that attempt with the reason, nothing else; a fetch
 * that fails because the server could not be reached (a network blip, a server restart) is tried again for up to
 * {@link #DEFAULT_RETRY} first, while heartbeats keep the lease, so an outage does not use up the batch's attempts.
 */
public final class GitWorkspace implements WorkspaceProvider {
  private static final Logger LOG = Logger.getLogger(GitWorkspace.class.getName());
  /** How long a fetch failing for want of the server is retried before the attempt fails. */
  public static final Duration DEFAULT_RETRY = Duration.ofSeconds(60);
  private final Checkouts checkouts;
  private final Duration retryFor;
  private final ReleaseVerifier verifier;

  /** Runs whatever the server hands out, signed or not (tests): like {@code --allow-unsigned}. */
  public GitWorkspace(Checkouts checkouts) {
    this(checkouts, DEFAULT_RETRY);
  }

  /** Like the other constructor, retrying unreachable-server fetches for {@code retryFor} (zero: not at all). */
  public GitWorkspace(Checkouts checkouts, Duration retryFor) {
    this(checkouts, retryFor, new ReleaseVerifier(java.util.List.of(), true));
  }

  /**
   * @param checkouts where leases run
   * @param retryFor how long unreachable-server fetches are retried (zero: not at all)
   * @param verifier what may run: signed releases and their entry points only, unless it allows unsigned code
   */
  public GitWorkspace(Checkouts checkouts, Duration retryFor, ReleaseVerifier verifier) {
    this.checkouts = checkouts;
    this.retryFor = retryFor;
    this.verifier = verifier;
  }

  private Checkouts.Handle acquire(String commit) throws IOException {
    long deadline = System.nanoTime() + retryFor.toNanos();
    long pauseMillis = 500;
    while (true) {
      try {
        return checkouts.acquire(commit);
      } catch (IOException e) {
        CodeUnavailableException cause = causeOf(e);
        if (cause == null || !cause.isTransient() || System.nanoTime() + pauseMillis * 1_000_000 > deadline) {
          throw e;
        }
        LOG.warning("commit " + CodeRepository.abbreviate(commit) + ": " + cause.getMessage() + "; trying again in "
            + pauseMillis + " ms");
        try {
          Thread.sleep(pauseMillis);
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
          throw e;
        }
        pauseMillis = Math.min(pauseMillis * 2, 8_000);
      }
    }
  }

  private static CodeUnavailableException causeOf(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CodeUnavailableException c) {
        return c;
      }
    }
    return null;
  }

  @Override
  public Workspace workspaceFor(Lease lease) throws IOException {
    verifier.checkBeforeFetch(lease); // no commit, or a raw command: refused before any fetch
    if (lease.commit() == null || lease.commit().isBlank()) {
      throw new WorkspaceException(
          "the lease names no commit: refused to run its command (the server must name the code to run)",
          "nightshift-agent: batch " + lease.batchId() + " names no commit, so there is no code to run it with;"
              + " the agent runs commands only in a checkout of the commit a lease names, and refused this one\n"
              + "nightshift-agent: the command did not run; this attempt fails and the agent goes on with other"
              + " work\n",
          null);
    }
    Checkouts.Handle handle;
    try {
      handle = acquire(lease.commit());
    } catch (IOException | RuntimeException e) {
      String message = String.valueOf(e.getMessage());
      String abbreviated = CodeRepository.abbreviate(lease.commit());
      String reason =
          message.contains(abbreviated) ? message : "could not check out commit " + abbreviated + ": " + message;
      String log =
          "nightshift-agent: could not check out commit " + lease.commit()
              + (lease.version() == null ? "" : " (version " + lease.version() + ")") + ": " + message + "\n"
              + "nightshift-agent: the command did not run; this attempt fails and the agent goes on with other"
              + " work\n";
      throw new WorkspaceException(reason, log, e);
    }
    List<String> argv;
    try {
      argv = verifier.check(checkouts.code().repository(), lease);
    } catch (IOException | RuntimeException e) {
      handle.close();
      throw e;
    }
    return new Workspace() {
      @Override
      public Path dir() {
        return handle.dir();
      }

      @Override
      public List<String> argv() {
        return argv;
      }

      @Override
      public void close() {
        handle.close();
      }
    };
  }
}
