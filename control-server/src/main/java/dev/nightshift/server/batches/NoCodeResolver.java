package dev.nightshift.server.batches;

import org.springframework.stereotype.Component;

/** Until code distribution exists, leases name only a job's pinned commit, and no version. */
@Component
class NoCodeResolver implements CodeResolver {
  @Override
  public Code codeFor(String pinnedCommit) {
    return pinnedCommit == null ? Code.NONE : new Code(pinnedCommit, null);
  }
}
