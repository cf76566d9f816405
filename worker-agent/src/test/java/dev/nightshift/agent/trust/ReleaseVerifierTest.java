package dev.nightshift.agent.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.agent.runner.RunRefusedException;
import dev.nightshift.protocol.BatchInput;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.RefusalReason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real keys (ssh-keygen), real signed commits (git commit -S with gpg.format=ssh), verified by the agent's code. */
class ReleaseVerifierTest {
  private static final String MANIFEST =
      "{\"entryPoints\": {\"process\": {\"command\": [\"python3\", \"process.py\"], \"description\": \"d\"}}}";

  @TempDir Path tmp;
  private Path key;
  private Path otherKey;
  private SigningRepo git;
  private Repository repo;
  private ReleaseVerifier verifier;

  @BeforeEach
  void setUp() throws IOException {
    key = SigningRepo.newKey(tmp.resolve("keys"), "release");
    otherKey = SigningRepo.newKey(tmp.resolve("keys"), "intruder");
    git = new SigningRepo(tmp.resolve("work"));
    repo = new FileRepositoryBuilder().setGitDir(tmp.resolve("work/.git").toFile()).build();
    verifier = new ReleaseVerifier(List.of(TrustedKey.parse(SigningRepo.publicKeyLine(key))), false);
  }

  @AfterEach
  void tearDown() {
    repo.close();
  }

  private String signed(Path by) throws IOException {
    return git.commit(Map.of("nightshift.json", MANIFEST, "process.py", "print('hi')\n"), by, "release 1");
  }

  private static Lease lease(String commit, String command, String entryPoint, List<String> args) {
    return new Lease(1, 2, 1, "t", Instant.parse("2030-01-01T00:00:00Z"), commit, null, command, 30,
        new BatchInput("", 0, null, null), Map.of(), entryPoint, args);
  }

  private RefusalReason refusal(String commit) {
    try {
      verifier.verify(repo, commit);
      return null;
    } catch (RunRefusedException e) {
      assertThat(e.getMessage()).startsWith(e.reason().name() + ": ");
      return e.reason();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aCommitSignedByATrustedKeyRunsItsEntryPointWithTheArgumentsAndNoShell() throws IOException {
    String commit = signed(key);

    assertThat(verifier.verify(repo, commit).line()).isEqualTo(SigningRepo.publicKeyLine(key));
    assertThat(verifier.check(repo, lease(commit, null, "process", List.of("--fast", "a b; rm -rf /"))))
        .containsExactly("python3", "process.py", "--fast", "a b; rm -rf /");
  }

  @Test
  void anUnsignedCommitIsRefused() throws IOException {
    assertThat(refusal(signed(null))).isEqualTo(RefusalReason.UNSIGNED_RELEASE);
  }

  @Test
  void aCommitSignedByAnotherKeyIsRefused() throws IOException {
    String commit = signed(otherKey);

    assertThatThrownBy(() -> verifier.verify(repo, commit))
        .isInstanceOf(RunRefusedException.class)
        .hasMessageStartingWith("UNTRUSTED_KEY: ")
        .hasMessageContaining(TrustedKey.parse(SigningRepo.publicKeyLine(otherKey)).fingerprint());
  }

  @Test
  void aSecondTrustedKeyIsTrustedToo() throws IOException {
    ReleaseVerifier both = new ReleaseVerifier(TrustedKeys.parse(List.of(
        SigningRepo.publicKeyLine(key), tmp.resolve("keys/intruder.pub").toString())), false);

    assertThat(both.verify(repo, signed(otherKey)).comment()).isEqualTo("intruder@example.com");
  }

  @Test
  void aCommitChangedAfterSigningIsRefused() throws IOException {
    String commit = signed(key);
    String unsignedOther = git.commit(Map.of("process.py", "import os; os.system('id')\n"), null, "evil");
    String raw = new String(git.raw(commit), StandardCharsets.UTF_8);
    String otherTree = new String(git.raw(unsignedOther), StandardCharsets.UTF_8).lines().findFirst().orElseThrow();

    String newMessage = git.store(raw.replace("release 1", "release 2").getBytes(StandardCharsets.UTF_8));
    String newTree = git.store(raw.replaceFirst("tree [0-9a-f]+", otherTree).getBytes(StandardCharsets.UTF_8));

    assertThat(refusal(newMessage)).isEqualTo(RefusalReason.BAD_SIGNATURE);
    assertThat(refusal(newTree)).isEqualTo(RefusalReason.BAD_SIGNATURE);
  }

  @Test
  void aSignatureMadeForAnotherNamespaceIsRefused() throws IOException {
    String unsigned = signed(null);
    byte[] payload = git.raw(unsigned);
    // the same signature git makes, but for the "file" namespace: a signed file passed off as a signed commit
    for (String namespace : List.of("git", "file")) {
      String sig = SigningRepo.sign(key, namespace, payload, tmp);
      String raw = new String(payload, StandardCharsets.UTF_8);
      int headersEnd = raw.indexOf("\n\n");
      String header = "gpgsig " + sig.strip().replace("\n", "\n ");
      String forged = raw.substring(0, headersEnd) + "\n" + header + raw.substring(headersEnd);
      String commit = git.store(forged.getBytes(StandardCharsets.UTF_8));

      assertThat(refusal(commit)).isEqualTo(namespace.equals("git") ? null : RefusalReason.BAD_SIGNATURE);
    }
  }

  @Test
  void entryPointsComeFromTheSignedManifest() throws IOException {
    String noManifest = git.commit(Map.of("process.py", "print(1)\n"), key, "no manifest");
    git.run(git.dir, "git", "rm", "-q", "--cached", "process.py");
    String withManifest = signed(key);

    assertThatThrownBy(() -> verifier.check(repo, lease(noManifest, null, "process", List.of())))
        .isInstanceOf(RunRefusedException.class)
        .hasMessageStartingWith("NO_ENTRY_POINT: ")
        .hasMessageContaining("nightshift.json");
    assertThatThrownBy(() -> verifier.check(repo, lease(withManifest, null, "report", List.of())))
        .isInstanceOf(RunRefusedException.class)
        .hasMessageStartingWith("NO_ENTRY_POINT: ")
        .hasMessageContaining("'report'")
        .hasMessageContaining("process");
  }

  @Test
  void rawCommandsAndLeasesWithoutACommitAreRefusedUnlessUnsignedCodeIsAllowed() throws IOException {
    String commit = signed(key);

    assertThatThrownBy(() -> verifier.check(repo, lease(commit, "python3 process.py", null, null)))
        .hasMessageStartingWith("RAW_COMMAND_REFUSED: ");
    assertThatThrownBy(() -> verifier.check(repo, lease(null, null, "process", List.of())))
        .hasMessageStartingWith("UNSIGNED_RELEASE: ");

    ReleaseVerifier unsigned = new ReleaseVerifier(List.of(), true);
    assertThat(unsigned.check(repo, lease(signed(null), "python3 process.py", null, null))).isNull();
    assertThat(unsigned.check(repo, lease(commit, null, "process", List.of("x"))))
        .containsExactly("python3", "process.py", "x");
  }

  @Test
  void keysThatAreNotEd25519OpenSshLinesAreRejectedWithTheReason() {
    assertThatThrownBy(() -> TrustedKey.parse("ssh-rsa AAAAB3NzaC1yc2E= a@b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ssh-ed25519");
    assertThatThrownBy(() -> TrustedKeys.parse(List.of(tmp.resolve("missing.pub").toString())))
        .hasMessageContaining("neither");
  }
}
