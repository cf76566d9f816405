package dev.nightshift.agent.runner;

import java.nio.file.Path;

/**
 * The directory one run works in, held for as long as the run lasts: closing it tells the provider the run is over
 * (a checkout of the lease's commit may then be evicted).
 */
public interface Workspace extends AutoCloseable {
  /** The directory the command runs in. */
  Path dir();

  /**
   * The program and arguments to run without a shell (a signed release's entry point and the job's arguments), or
   * null to run the lease's raw command through the platform shell.
   */
  default java.util.List<String> argv() {
    return null;
  }

  /** The run is over; never throws. */
  @Override
  void close();

  /** A directory nobody needs to be told about. */
  static Workspace of(Path dir) {
    return new Workspace() {
      @Override
      public Path dir() {
        return dir;
      }

      @Override
      public void close() {}
    };
  }
}
