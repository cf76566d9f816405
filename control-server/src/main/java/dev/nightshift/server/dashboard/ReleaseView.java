package dev.nightshift.server.dashboard;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Code releases as the dashboard shows them. Code distribution implements this as a bean; until one exists the
 * dashboard says "no code distribution yet" and offers no promote button.
 */
public interface ReleaseView {

  /** The release workers run now, or empty before the first promotion. */
  Optional<Release> current();

  /** Releases, newest first, at most {@code limit}. */
  List<Release> history(int limit);

  /**
   * Promotes a branch or commit to workers; {@code rollback} allows a move that is not a fast-forward (a rollback is
   * a promotion of an older commit). Refusals are thrown as {@link dev.nightshift.server.system.ProblemException}
   * with a detail the dashboard shows as is.
   */
  void promote(String commitOrRef, boolean rollback, String user);

  /** One promoted commit. */
  record Release(String commit, String version, String promotedBy, Instant promotedAt, String message) {}
}
