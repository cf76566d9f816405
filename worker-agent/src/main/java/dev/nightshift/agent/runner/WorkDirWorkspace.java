package dev.nightshift.agent.runner;

import dev.nightshift.protocol.Lease;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs every lease in one fixed directory, whatever commit it names: for tests of the runner. The agent itself runs
 * leases only in checkouts of their commits ({@code sync.GitWorkspace}).
 */
public final class WorkDirWorkspace implements WorkspaceProvider {
  private final Path dir;

  public WorkDirWorkspace(Path dir) {
    this.dir = dir;
  }

  @Override
  public Workspace workspaceFor(Lease lease) throws IOException {
    return Workspace.of(Files.createDirectories(dir));
  }
}
