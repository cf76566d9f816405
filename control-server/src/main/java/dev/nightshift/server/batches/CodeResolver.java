package dev.nightshift.server.batches;

/**
 * Names the code a lease runs: the job's pinned commit, or the current release. The seam where code distribution
 * plugs in; until then leases name no commit and the command runs in the agent's work directory.
 */
public interface CodeResolver {
  /** The commit and version to run; both null when no code distribution applies. */
  record Code(String commit, String version) {
    public static final Code NONE = new Code(null, null);
  }

  Code codeFor(String pinnedCommit);
}
