package dev.nightshift.agent.sync;

import dev.nightshift.agent.system.DaemonThreads;
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
  /** The latest release offered and not yet checked out: {commit, version}; a later offer replaces it. */
  private final AtomicReference<String[]> wanted = new AtomicReference<>();
  private volatile String current;
  private volatile String lastError;

  public Prefetcher(Checkouts checkouts) {
    this.checkouts = checkouts;
    this.executor = Executors.newSingleThreadExecutor(DaemonThreads.named("nightshift-prefetch"));
  }

  /**
   * Starts checking out {@code commit} unless it is checked out already. While another prefetch runs, the offer is
   * remembered (the latest wins) and checked out as soon as that one ends: a release promoted during a fetch is not
   * left waiting for the next heartbeat.
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
    wanted.set(new String[] {commit, version});
    startIfIdle();
  }

  private void startIfIdle() {
    if (wanted.get() == null || !running.compareAndSet(null, "busy")) {
      return;
    }
    try {
      executor.execute(this::drain);
    } catch (RejectedExecutionException e) {
      running.set(null); // shut down
    }
  }

  /** Checks out what is wanted until nothing new is; re-checks after letting go, so no offer is lost. */
  private void drain() {
    try {
      String[] next;
      while ((next = wanted.getAndSet(null)) != null) {
        if (checkouts.isReady(next[0])) {
          current = next[0].toLowerCase(java.util.Locale.ROOT);
        } else {
          prefetch(next[0], next[1]);
        }
      }
    } finally {
      running.set(null);
    }
    startIfIdle();
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
    }
  }
}
