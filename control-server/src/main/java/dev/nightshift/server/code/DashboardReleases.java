package dev.nightshift.server.code;

import dev.nightshift.server.dashboard.ReleaseView;
import java.util.List;
import java.util.Optional;
import org.springframework.stereotype.Component;

/** The dashboard's view of releases, backed by the release records. */
@Component
class DashboardReleases implements ReleaseView {
  private final ReleaseService releases;
  private final CodeRepository code;

  DashboardReleases(ReleaseService releases, CodeRepository code) {
    this.releases = releases;
    this.code = code;
  }

  @Override
  public Optional<Release> current() {
    return releases.current().map(this::view);
  }

  @Override
  public List<Release> history(int limit) {
    return releases.history(limit).stream().map(this::view).toList();
  }

  @Override
  public void promote(String commitOrRef, boolean rollback, String user) {
    boolean isCommit = commitOrRef.matches("[0-9a-f]{7,40}");
    releases.promote(isCommit ? null : commitOrRef, isCommit ? commitOrRef : null, rollback, user);
  }

  /** The commit's own message (its first line); a rollback says so. */
  private Release view(ReleaseService.Release r) {
    String subject = code.subject(r.commit()).orElse("");
    String message =
        r.rollback() ? "rollback from " + abbreviate(r.previousCommit()) + (subject.isEmpty() ? "" : ": " + subject)
            : subject;
    return new Release(r.commit(), r.version(), r.promotedBy(), r.promotedAt(), message);
  }

  private static String abbreviate(String sha) {
    return sha == null ? "-" : sha.substring(0, Math.min(7, sha.length()));
  }
}
