package dev.nightshift.server.code;

import dev.nightshift.server.dashboard.ReleaseView;
import java.util.List;
import java.util.Optional;
import org.springframework.stereotype.Component;

/** The dashboard's view of releases, backed by the release records. */
@Component
class DashboardReleases implements ReleaseView {
  private final ReleaseService releases;

  DashboardReleases(ReleaseService releases) {
    this.releases = releases;
  }

  @Override
  public Optional<Release> current() {
    return releases.current().map(DashboardReleases::view);
  }

  @Override
  public List<Release> history(int limit) {
    return releases.history(limit).stream().map(DashboardReleases::view).toList();
  }

  @Override
  public void promote(String commitOrRef, boolean rollback, String user) {
    boolean isCommit = commitOrRef.matches("[0-9a-f]{7,40}");
    releases.promote(isCommit ? null : commitOrRef, isCommit ? commitOrRef : null, rollback, user);
  }

  private static Release view(ReleaseService.Release r) {
    String message =
        r.rollback() ? "rollback from " + abbreviate(r.previousCommit()) : "after " + abbreviate(r.previousCommit());
    return new Release(r.commit(), r.version(), r.promotedBy(), r.promotedAt(),
        r.previousCommit() == null ? "first release" : message);
  }

  private static String abbreviate(String sha) {
    return sha == null ? "-" : sha.substring(0, Math.min(7, sha.length()));
  }
}
