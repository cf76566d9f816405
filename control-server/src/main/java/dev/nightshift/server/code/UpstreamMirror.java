package dev.nightshift.server.code;

import dev.nightshift.server.system.NightshiftProperties;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirrors the team's existing Git host into {@code /git/code.git}, so teams keep their workflow: branches and tags
 * of the upstream appear as the server's own (promotion picks from them); the worker branch stays the server's.
 * Runs on a schedule and right before every promotion.
 */
public class UpstreamMirror {
  private static final Logger log = LoggerFactory.getLogger(UpstreamMirror.class);
  private static final String MIRROR = "refs/upstream/heads/";
  private final Repository repository;
  private final String upstream;
  private final UsernamePasswordCredentialsProvider credentials;

  UpstreamMirror(CodeRepository code, NightshiftProperties.Code settings) {
    this.repository = code.repository();
    this.upstream = settings.upstream();
    this.credentials =
        settings.upstreamPassword() == null
            ? null
            : new UsernamePasswordCredentialsProvider(
                settings.upstreamUsername() == null ? "git" : settings.upstreamUsername(),
                settings.upstreamPassword());
  }

  /** What one mirror run changed. */
  public record Result(List<String> updated, List<String> deleted) {}

  /**
   * The text with the credentials of every URL in it ({@code https://user:token@host/…}) replaced by {@code ***}:
   * for logs, errors and what pushers are told. The cause of a failed mirror is not kept either, for its message
   * may hold the URL.
   */
  static String masked(String text) {
    return text == null ? null : text.replaceAll("(?i)([a-z][a-z0-9+.-]*://)[^/@\\s]+@", "$1***@");
  }

  /** Fetches the upstream and makes the server's branches equal to its branches (the worker branch excepted). */
  public synchronized Result mirror() {
    try (Git git = new Git(repository)) {
      var fetch =
          git.fetch()
              .setRemote(upstream)
              .setRefSpecs(new RefSpec("+refs/heads/*:" + MIRROR + "*"), new RefSpec("+refs/tags/*:refs/tags/*"))
              .setRemoveDeletedRefs(true);
      if (credentials != null) {
        fetch.setCredentialsProvider(credentials);
      }
      fetch.call();
      List<String> updated = new ArrayList<>();
      List<String> deleted = new ArrayList<>();
      Set<String> mirrored = new TreeSet<>();
      for (Ref ref : repository.getRefDatabase().getRefsByPrefix(MIRROR)) {
        String branch = ref.getName().substring(MIRROR.length());
        if (branch.equals("worker")) {
          continue; // the upstream's own worker branch, if any, never moves ours
        }
        mirrored.add(branch);
        Ref local = repository.exactRef(Constants.R_HEADS + branch);
        if (local == null || !local.getObjectId().equals(ref.getObjectId())) {
          set(Constants.R_HEADS + branch, ref.getObjectId());
          updated.add(branch);
        }
      }
      for (Ref local : repository.getRefDatabase().getRefsByPrefix(Constants.R_HEADS)) {
        String branch = local.getName().substring(Constants.R_HEADS.length());
        if (!branch.equals("worker") && !mirrored.contains(branch)) {
          RefUpdate delete = repository.updateRef(local.getName());
          delete.setForceUpdate(true);
          delete.delete();
          deleted.add(branch);
        }
      }
      if (!updated.isEmpty() || !deleted.isEmpty()) {
        log.info("mirrored {}: updated {}, deleted {}", masked(upstream), updated, deleted);
      }
      return new Result(updated, deleted);
    } catch (GitAPIException | java.io.IOException e) {
      throw new IllegalStateException(
          "could not mirror " + masked(upstream) + ": " + masked(String.valueOf(e.getMessage())));
    }
  }

  private void set(String ref, ObjectId id) throws java.io.IOException {
    RefUpdate update = repository.updateRef(ref);
    update.setNewObjectId(id);
    update.setForceUpdate(true);
    update.setRefLogMessage("mirror of upstream", false);
    update.update();
  }
}
