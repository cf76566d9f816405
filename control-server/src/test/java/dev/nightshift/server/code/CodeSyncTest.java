package dev.nightshift.server.code;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.system.Transactions;
import dev.nightshift.server.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import javax.sql.DataSource;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.RefSpec;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * Two server instances' repositories (A and B) on one real database, synced only through {@code code_push} and
 * {@code code_ref}: a push accepted by A is served by B, later pushes travel as small bundles, a race for one branch
 * has one winner, deletions and the worker branch follow, and an existing repository seeds the shared one.
 */
class CodeSyncTest {
  @TempDir Path dir;
  private JdbcClient jdbc;
  private Transactions transactions;
  private Git work;
  private CodeRepository a;
  private CodeRepository b;
  private CodeSync syncA;
  private CodeSync syncB;

  @BeforeEach
  void setUp() throws Exception {
    String[] db = TestDatabase.fresh();
    DataSource ds = new DriverManagerDataSource(db[0], db[1], db[2]);
    Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
    jdbc = JdbcClient.create(ds);
    transactions = new Transactions(new DataSourceTransactionManager(ds), 8);
    work = Git.init().setDirectory(dir.resolve("work").toFile()).setInitialBranch("main").call();
    a = new CodeRepository(UpstreamMirrorTest.properties(dir.resolve("a"), null));
    b = new CodeRepository(UpstreamMirrorTest.properties(dir.resolve("b"), null));
    syncA = sync(a);
    syncB = sync(b);
  }

  private CodeSync sync(CodeRepository code) {
    return new CodeSync(
        code, jdbc, transactions, Clock.systemUTC(), UpstreamMirrorTest.properties(dir, null),
        new DefaultListableBeanFactory().getBeanProvider(UpstreamMirror.class));
  }

  @AfterEach
  void tearDown() {
    work.close();
    a.close();
    b.close();
  }

  private RevCommit commit(String version) throws Exception {
    Files.writeString(dir.resolve("work").resolve("VERSION"), version + "\n");
    Files.writeString(dir.resolve("work").resolve("data-" + version + ".txt"), "x".repeat(10_000) + version);
    work.add().addFilepattern(".").call();
    return work.commit().setMessage(version).setAuthor("T", "t@x").call();
  }

  /** What a push does to the receiving instance: its objects arrive, then the hook records the ref moves. */
  private List<ReceiveCommand> push(CodeRepository code, CodeSync sync, String ref, ObjectId old, ObjectId now)
      throws Exception {
    if (now != null) {
      try (Git target = Git.wrap(code.repository())) {
        target.fetch()
            .setRemote(dir.resolve("work").toUri().toString())
            .setRefSpecs(new RefSpec("+" + now.name() + ":refs/incoming"))
            .call();
        RefUpdate drop = code.repository().updateRef("refs/incoming");
        drop.setForceUpdate(true);
        drop.delete();
      }
    }
    ReceiveCommand command =
        new ReceiveCommand(old == null ? ObjectId.zeroId() : old, now == null ? ObjectId.zeroId() : now, ref);
    sync.accept(List.of(command));
    return List.of(command);
  }

  private ObjectId ref(CodeRepository code, String name) throws Exception {
    Ref r = code.repository().exactRef(name);
    return r == null ? null : r.getObjectId();
  }

  @Test
  void aPushToOneInstanceIsServedByTheOther() throws Exception {
    RevCommit first = commit("1.0");
    assertThat(push(a, syncA, "refs/heads/main", null, first).get(0).getResult())
        .isEqualTo(ReceiveCommand.Result.OK);
    assertThat(ref(a, "refs/heads/main")).isEqualTo(first.getId());
    assertThat(ref(b, "refs/heads/main")).isNull();

    // B resolves the commit it lacks by catching up (as a lease or a fetch for it does)
    assertThat(b.resolveCommit(first.name())).contains(first.getId());
    assertThat(ref(b, "refs/heads/main")).isEqualTo(first.getId());
    assertThat(b.versionOf(first.getId())).isEqualTo("1.0");

    // the next push travels as a bundle of only the new objects
    RevCommit second = commit("1.1");
    push(b, syncB, "refs/heads/main", first, second);
    List<Long> sizes =
        jdbc.sql("SELECT LENGTH(bundle) FROM code_push ORDER BY id").query(Long.class).list();
    assertThat(sizes).hasSize(2);
    syncA.catchUp();
    assertThat(ref(a, "refs/heads/main")).isEqualTo(second.getId());
    assertThat(a.versionOf(second.getId())).isEqualTo("1.1");
    System.out.println("bundle sizes: " + sizes);

    // a branch and a tag created on A, deleted on B
    push(a, syncA, "refs/heads/feature", null, second);
    push(a, syncA, "refs/tags/v1", null, first);
    syncB.catchUp();
    assertThat(ref(b, "refs/heads/feature")).isEqualTo(second.getId());
    assertThat(ref(b, "refs/tags/v1")).isEqualTo(first.getId());
    push(b, syncB, "refs/heads/feature", second, null);
    syncA.catchUp();
    assertThat(ref(a, "refs/heads/feature")).isNull();
    assertThat(ref(a, "refs/tags/v1")).isEqualTo(first.getId());
    assertThat(jdbc.sql("SELECT name FROM code_ref ORDER BY name").query(String.class).list())
        .containsExactly("refs/heads/main", "refs/tags/v1");
  }

  @Test
  void twoInstancesRacingForOneBranchHaveOneWinner() throws Exception {
    RevCommit base = commit("1.0");
    push(a, syncA, "refs/heads/main", null, base);
    syncB.catchUp();
    RevCommit onA = commit("2.0-a");
    work.branchCreate().setName("on-a").call();
    work.reset().setMode(org.eclipse.jgit.api.ResetCommand.ResetType.HARD).setRef(base.name()).call();
    RevCommit onB = commit("2.0-b");

    ReceiveCommand winner = push(a, syncA, "refs/heads/main", base, onA).get(0);
    ReceiveCommand loser = push(b, syncB, "refs/heads/main", base, onB).get(0);

    assertThat(winner.getResult()).isEqualTo(ReceiveCommand.Result.OK);
    assertThat(loser.getResult()).isEqualTo(ReceiveCommand.Result.REJECTED_OTHER_REASON);
    assertThat(loser.getMessage()).contains("another server instance moved refs/heads/main");
    assertThat(ref(b, "refs/heads/main")).as("the loser's copy did not move").isEqualTo(base.getId());
    syncB.catchUp();
    assertThat(ref(b, "refs/heads/main")).isEqualTo(onA.getId());
    assertThat(jdbc.sql("SELECT object_id FROM code_ref WHERE name = 'refs/heads/main'").query(String.class).single())
        .isEqualTo(onA.name());
  }

  @Test
  void theWorkerBranchFollowsTheLatestReleaseOnEveryInstance() throws Exception {
    RevCommit first = commit("1.0");
    push(a, syncA, "refs/heads/main", null, first);
    a.moveWorker(first, false);
    jdbc.sql(
            """
            INSERT INTO code_release (commit_sha, version, previous_commit, rollback, promoted_by, promoted_at)
            VALUES (?, '1.0', NULL, FALSE, 'admin', NOW(6))""")
        .param(first.name())
        .update();
    syncB.catchUp();
    assertThat(b.workerCommit()).contains(first.getId());
    assertThat(ref(b, "refs/heads/worker")).isEqualTo(first.getId());
  }

  @Test
  void anExistingRepositorySeedsTheSharedOne() throws Exception {
    RevCommit first = commit("1.0");
    try (Git target = Git.wrap(a.repository())) {
      target.fetch()
          .setRemote(dir.resolve("work").toUri().toString())
          .setRefSpecs(new RefSpec("+refs/heads/main:refs/heads/main"))
          .call();
    }
    a.moveWorker(first, false);
    syncA.catchUp();
    assertThat(jdbc.sql("SELECT COUNT(*) FROM code_push").query(Long.class).single()).isEqualTo(1);
    assertThat(jdbc.sql("SELECT name FROM code_ref").query(String.class).list()).containsExactly("refs/heads/main");
    syncB.catchUp();
    assertThat(ref(b, "refs/heads/main")).isEqualTo(first.getId());
    assertThat(b.versionOf(first.getId())).isEqualTo("1.0");
  }
}
