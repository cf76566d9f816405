package dev.nightshift.server.code;

import dev.nightshift.server.batches.CodeResolver;
import org.springframework.stereotype.Component;

/** Leases run the job's pinned commit, else the current release; claim answers carry the current release. */
@Component
class ReleaseCodeResolver implements CodeResolver, dev.nightshift.server.batches.CurrentRelease {
  private final ReleaseService releases;

  ReleaseCodeResolver(ReleaseService releases) {
    this.releases = releases;
  }

  @Override
  public Code codeFor(String pinnedCommit) {
    if (pinnedCommit != null) {
      return new Code(pinnedCommit, releases.versionOf(pinnedCommit));
    }
    return releases.current().map(r -> new Code(r.commit(), r.version())).orElse(Code.NONE);
  }

  @Override
  public dev.nightshift.protocol.CodeRelease current() {
    return releases.current().map(ReleaseService.Release::toProtocol).orElse(null);
  }
}
