package dev.nightshift.server.batches;

import dev.nightshift.protocol.CodeRelease;

/** The promoted code agents should have, as claim answers report it; implemented by code distribution. */
public interface CurrentRelease {
  /** The current release, or null when none exists. */
  CodeRelease current();

  /** Published after a promotion or rollback. */
  record Changed(CodeRelease release) {}
}
