package dev.nightshift.agent.sync;

import dev.nightshift.agent.runner.Workspace;
import dev.nightshift.agent.runner.WorkspaceException;
import dev.nightshift.agent.runner.WorkspaceProvider;
import dev.nightshift.protocol.Lease;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Runs a lease in a checkout of the commit it names, pinned for the run, or in the work directory when it names
 * none. A commit that cannot be fetched or checked out fails that attempt with the reason, nothing else.
 */
public final class GitWorkspace implements WorkspaceProvider {
  private final WorkspaceProvider workDir;
  private final Checkouts checkouts;

  /**
   * @param workDir where leases without a commit run
   * @param checkouts where leases with a commit run
   */
  public GitWorkspace(WorkspaceProvider workDir, Checkouts checkouts) {
    this.workDir = workDir;
    this.checkouts = checkouts;
  }

  @Override
  public Workspace workspaceFor(Lease lease) throws IOException {
    if (lease.commit() == null) {
      return workDir.workspaceFor(lease);
    }
    Checkouts.Handle handle;
    try {
      handle = checkouts.acquire(lease.commit());
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
    return new Workspace() {
      @Override
      public Path dir() {
        return handle.dir();
      }

      @Override
      public void close() {
        handle.close();
      }
    };
  }
}
