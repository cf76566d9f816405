package dev.nightshift.agent.runner;

import dev.nightshift.protocol.Lease;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a lease's command runs. Today one work directory for every lease; code distribution will return a checkout
 * of the lease's commit.
 */
public interface WorkspaceProvider {
  /** The directory to run {@code lease} in, created if needed. */
  Path workspaceFor(Lease lease) throws IOException;
}
