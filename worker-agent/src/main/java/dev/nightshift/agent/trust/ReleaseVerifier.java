package dev.nightshift.agent.trust;

import dev.nightshift.agent.runner.RunRefusedException;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.RefusalReason;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * Decides whether a lease may run, and what exactly runs: a promoted commit runs only when it carries an SSH
 * signature (Git's {@code gpg.format=ssh}, in the commit's {@code gpgsig} header) that verifies under one of the
 * trusted Ed25519 keys, and then only an entry point of its manifest ({@link Manifest}), run without a shell. The
 * signed payload is the commit object without its {@code gpgsig} header, exactly as Git signs it, so a signature
 * covers the tree (every file, the manifest included), the parents, the author and the message.
 *
 * <p>With {@code allowUnsigned} (an explicit agent opt-in, for quickstarts and tests) nothing is verified and raw
 * commands run through the platform shell as before; entry points still come from the commit's manifest.
 */
public final class ReleaseVerifier {
  private static final Logger LOG = Logger.getLogger(ReleaseVerifier.class.getName());
  /** The signature namespace Git uses for commits and tags. */
  static final String NAMESPACE = "git";
  private static final byte[] GPGSIG = "gpgsig ".getBytes(StandardCharsets.US_ASCII);

  private final List<TrustedKey> trusted;
  private final boolean allowUnsigned;

  /**
   * @param trusted the keys a release may be signed with
   * @param allowUnsigned run anything the server hands out (no signature check, raw commands allowed)
   */
  public ReleaseVerifier(List<TrustedKey> trusted, boolean allowUnsigned) {
    this.trusted = List.copyOf(trusted);
    this.allowUnsigned = allowUnsigned;
  }

  public boolean allowsUnsigned() {
    return allowUnsigned;
  }

  public List<TrustedKey> trusted() {
    return trusted;
  }

  /**
   * Checks {@code lease} against the code of its commit (already fetched into {@code repo}).
   *
   * @return the argv to run without a shell (an entry point plus the lease's arguments), or null to run the lease's
   *     raw command through the platform shell (only with {@code allowUnsigned})
   * @throws RunRefusedException when it must not run, with the reason
   */
  public List<String> check(Repository repo, Lease lease) throws RunRefusedException, IOException {
    checkBeforeFetch(lease);
    if (!allowUnsigned) {
      verify(repo, lease.commit());
    }
    if (lease.entryPoint() == null) {
      return null;
    }
    Manifest manifest = manifest(repo, lease.commit());
    Manifest.EntryPoint ep = manifest.entryPoints().get(lease.entryPoint());
    if (ep == null) {
      throw new RunRefusedException(RefusalReason.NO_ENTRY_POINT,
          "commit " + abbreviate(lease.commit()) + "'s " + Manifest.FILE + " has no entry point '"
              + lease.entryPoint() + "' (it has: " + String.join(", ", manifest.entryPoints().keySet()) + ")");
    }
    List<String> argv = new ArrayList<>(ep.command());
    if (lease.args() != null) {
      argv.addAll(lease.args());
    }
    return argv;
  }

  /**
   * What can be refused before fetching any code: unless unsigned code is allowed, a lease that names no commit or
   * gives a raw command.
   */
  public void checkBeforeFetch(Lease lease) throws RunRefusedException {
    if (allowUnsigned) {
      return;
    }
    if (lease.commit() == null || lease.commit().isBlank()) {
      throw new RunRefusedException(RefusalReason.UNSIGNED_RELEASE,
          "the lease names no commit, so there is no signed code to run");
    }
    if (lease.entryPoint() == null) {
      throw new RunRefusedException(RefusalReason.RAW_COMMAND_REFUSED,
          "this agent runs only the entry points of signed releases, and the job gives a raw command; submit the"
              + " job with \"entryPoint\" naming one in " + Manifest.FILE + " (or run the agent with"
              + " --allow-unsigned, which trusts whatever the server hands out)");
    }
  }

  /**
   * Verifies the signature of {@code commit}; returns the key that signed it.
   *
   * @throws RunRefusedException UNSIGNED_RELEASE, UNTRUSTED_KEY or BAD_SIGNATURE
   */
  public TrustedKey verify(Repository repo, String commit) throws RunRefusedException, IOException {
    byte[] raw;
    try (RevWalk rw = new RevWalk(repo)) {
      RevCommit c = rw.parseCommit(ObjectId.fromString(commit));
      raw = c.getRawBuffer();
    }
    Split split = split(raw);
    String c = abbreviate(commit);
    if (split.signature == null) {
      throw new RunRefusedException(RefusalReason.UNSIGNED_RELEASE,
          "commit " + c + " is not signed; sign releases with a key the agents trust (git -c gpg.format=ssh"
              + " commit -S, see docs/security.md#signed-releases)");
    }
    SshSignature sig;
    try {
      sig = SshSignature.parse(split.signature);
    } catch (IllegalArgumentException e) {
      throw new RunRefusedException(RefusalReason.BAD_SIGNATURE, "commit " + c + ": " + e.getMessage());
    }
    TrustedKey signer = null;
    for (TrustedKey k : trusted) {
      if (k.matches(sig.publicKey())) {
        signer = k;
      }
    }
    if (signer == null) {
      String fp;
      try {
        fp = new TrustedKey(sig.publicKey(), "").fingerprint();
      } catch (IllegalArgumentException e) {
        fp = "a key that is not Ed25519";
      }
      throw new RunRefusedException(RefusalReason.UNTRUSTED_KEY,
          "commit " + c + " is signed by " + fp + ", which this agent does not trust (trusted: "
              + (trusted.isEmpty() ? "none" : String.join(", ", trusted.stream().map(TrustedKey::fingerprint).toList()))
              + ")");
    }
    if (!NAMESPACE.equals(sig.namespace())) {
      throw new RunRefusedException(RefusalReason.BAD_SIGNATURE,
          "commit " + c + "'s signature is for namespace '" + sig.namespace() + "', not '" + NAMESPACE
              + "': it was not made by git for a commit");
    }
    if (!sig.verifies(split.payload, signer)) {
      throw new RunRefusedException(RefusalReason.BAD_SIGNATURE,
          "commit " + c + "'s signature by " + signer.describe() + " does not match its content: the commit was"
              + " changed after it was signed");
    }
    TrustedKey by = signer;
    LOG.fine(() -> "commit " + c + " is signed by " + by.describe());
    return by;
  }

  /** The manifest of {@code commit}, read from the Git objects (never from a checkout a script may have changed). */
  static Manifest manifest(Repository repo, String commit) throws IOException, RunRefusedException {
    try (RevWalk rw = new RevWalk(repo)) {
      RevCommit c = rw.parseCommit(ObjectId.fromString(commit));
      try (TreeWalk tw = TreeWalk.forPath(repo, Manifest.FILE, c.getTree())) {
        if (tw == null) {
          throw new RunRefusedException(RefusalReason.NO_ENTRY_POINT,
              "commit " + abbreviate(commit) + " has no " + Manifest.FILE + " at its root, so it offers no entry"
                  + " points (see docs/code.md#entry-points)");
        }
        byte[] bytes = repo.open(tw.getObjectId(0)).getBytes(1024 * 1024);
        try {
          return Manifest.parse(bytes);
        } catch (IllegalArgumentException e) {
          throw new RunRefusedException(RefusalReason.NO_ENTRY_POINT,
              "commit " + abbreviate(commit) + ": " + e.getMessage());
        }
      }
    }
  }

  /** A commit object split into what was signed (everything but the gpgsig header) and the armored signature. */
  record Split(byte[] payload, String signature) {}

  /** Removes the {@code gpgsig} header (its first line and the continuation lines that start with a space). */
  static Split split(byte[] raw) {
    ByteArrayOutputStream payload = new ByteArrayOutputStream(raw.length);
    StringBuilder sig = null;
    int i = 0;
    boolean inHeaders = true;
    boolean inSig = false;
    while (i < raw.length) {
      int eol = i;
      while (eol < raw.length && raw[eol] != '\n') {
        eol++;
      }
      int next = Math.min(eol + 1, raw.length); // past the newline
      if (!inHeaders) {
        payload.write(raw, i, raw.length - i);
        break;
      }
      if (eol == i) { // the blank line ending the headers
        inHeaders = false;
        inSig = false;
        payload.write(raw, i, next - i);
      } else if (inSig && raw[i] == ' ') {
        sig.append('\n').append(new String(raw, i + 1, eol - i - 1, StandardCharsets.UTF_8));
      } else if (sig == null && startsWith(raw, i, GPGSIG)) {
        sig = new StringBuilder(new String(raw, i + GPGSIG.length, eol - i - GPGSIG.length, StandardCharsets.UTF_8));
        inSig = true;
      } else {
        inSig = false;
        payload.write(raw, i, next - i);
      }
      i = next;
    }
    return new Split(payload.toByteArray(), sig == null ? null : sig.toString());
  }

  private static boolean startsWith(byte[] raw, int at, byte[] prefix) {
    if (raw.length - at < prefix.length) {
      return false;
    }
    for (int k = 0; k < prefix.length; k++) {
      if (raw[at + k] != prefix[k]) {
        return false;
      }
    }
    return true;
  }

  private static String abbreviate(String commit) {
    return commit == null ? "(none)" : commit.length() > 12 ? commit.substring(0, 12) : commit;
  }
}
