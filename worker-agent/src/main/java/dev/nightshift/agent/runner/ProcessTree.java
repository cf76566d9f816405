package dev.nightshift.agent.runner;

import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/** Kills a process with all its descendants, so that no grandchild outlives a timeout or a cancel. */
final class ProcessTree {
  private ProcessTree() {}

  /**
   * Kills the descendants of {@code root} (again, while new ones appear), then {@code root} itself, then any
   * {@code alsoSeen} process still alive (descendants seen earlier that may have been orphaned since).
   */
  static void kill(ProcessHandle root, Collection<ProcessHandle> alsoSeen) {
    for (int round = 0; round < 5 && root.isAlive(); round++) {
      List<ProcessHandle> descendants = root.descendants().collect(Collectors.toList());
      if (descendants.isEmpty()) {
        break;
      }
      descendants.forEach(ProcessHandle::destroyForcibly);
    }
    root.destroyForcibly();
    alsoSeen.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }
}
