package dev.nightshift.agent.sync;

import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Fetches and checks out the promoted release in the background as soon as a heartbeat reply names it, so the
 * first batch after a promotion does not wait for a fetch. One prefetch at a time; a failure is logged once and
 * tried again at the next heartbeat. Never blocks its caller (the heartbeat thread).
 */
public final class Prefetcher {
  private static final Logger LOG = Logger.getLogger(Prefetcher.class.getName());

  private final Checkouts checkouts;
  private final ExecutorService executor;
  private final AtomicReference<String> running = new AtomicReference<>();
  private volatile String current;
  private volatile String lastError;

  public Prefetcher(Checkouts checkouts) {
    this.checkouts = checkouts;
    this.executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "nightshift-prefetch");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Starts checking out {@code commit} unless it is checked out already or another prefetch runs.
   *
   * @param version its version tag, for the log, or null
   */
  public void offer(String commit, String version) {
    if (commit == null) {
      return;
    }
    if (checkouts.isReady(commit)) {
      current = commit.toLowerCase(java.util.Locale.ROOT);
      return;
    }
    if (!running.compareAndSet(null, commit)) {
      return;
    }
    try {
      executor.execute(() -> prefetch(commit, version));
    } catch (RejectedExecutionException e) {
      running.set(null); // shut down
    }
  }

  /** The most recently checked-out release commit (reported in heartbeats), or null before the first. */
  public String currentCommit() {
    return current;
  }

  public void shutdown() {
    executor.shutdownNow();
  }

  private void prefetch(String commit, String version) {
    String what = "release " + (version == null ? "" : version + " ") + "(commit " + CodeRepository.abbreviate(commit)
        + ")";
    try {
      checkouts.prepare(commit);
      current = commit.toLowerCase(java.util.Locale.ROOT);
      lastError = null;
      LOG.info(what + " is checked out, ready for its first batch");
    } catch (IOException | RuntimeException e) {
      String message = String.valueOf(e.getMessage());
      if (!message.equals(lastError)) {
        lastError = message;
        LOG.warning("could not prefetch " + what + ": " + message + "; trying again at the next heartbeat");
      } else {
        LOG.fine(() -> "could not prefetch " + what + " (again): " + message);
      }
    } finally {
      running.set(null);
    }
  }
}
