package dev.nightshift.agent.runner;

import dev.nightshift.protocol.Lease;
import java.io.IOException;

/**
 * Where a lease's command runs: a checkout of its commit (see {@code sync.GitWorkspace}, which refuses a lease that
 * names none).
 */
public interface WorkspaceProvider {
  /**
   * The workspace to run {@code lease} in, created if needed; the caller closes it when the run ends.
   *
   * @throws WorkspaceException when it cannot be provided, with the reason the attempt fails with
   */
  Workspace workspaceFor(Lease lease) throws IOException;
}
