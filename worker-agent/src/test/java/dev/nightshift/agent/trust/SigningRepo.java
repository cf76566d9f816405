package dev.nightshift.agent.trust;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real Git work tree and real SSH keys (git and ssh-keygen on the PATH) for signing tests: commits are made with
 * {@code git -c gpg.format=ssh commit -S}, exactly as a release manager would.
 */
final class SigningRepo {
  final Path dir;

  SigningRepo(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    run(dir, "git", "init", "-q", "-b", "main", ".");
  }

  /** A new Ed25519 key pair without passphrase; returns the private key file (the public one is {@code <it>.pub}). */
  static Path newKey(Path dir, String name) throws IOException {
    Files.createDirectories(dir);
    Path key = dir.resolve(name);
    run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@example.com", "-f", key.toString());
    return key;
  }

  static String publicKeyLine(Path privateKey) throws IOException {
    return Files.readString(Path.of(privateKey + ".pub")).strip();
  }

  /** Writes the files and commits them, signed with {@code key} (null: unsigned); returns the commit id. */
  String commit(Map<String, String> files, Path key, String message) throws IOException {
    for (var f : files.entrySet()) {
      Path p = dir.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      Files.writeString(p, f.getValue());
    }
    run(dir, "git", "add", "-A");
    List<String> cmd = new ArrayList<>(List.of(
        "git", "-c", "user.name=Release Manager", "-c", "user.email=rm@example.com", "-c", "gpg.format=ssh"));
    if (key != null) {
      cmd.addAll(List.of("-c", "user.signingkey=" + key, "commit", "-q", "--allow-empty", "-S", "-m", message));
    } else {
      cmd.addAll(List.of("commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", message));
    }
    run(dir, cmd.toArray(String[]::new));
    return run(dir, "git", "rev-parse", "HEAD").strip();
  }

  /** The raw commit object. */
  byte[] raw(String commit) throws IOException {
    return run(dir, "git", "cat-file", "commit", commit).getBytes(StandardCharsets.UTF_8);
  }

  /** Stores a commit object as given (e.g. a tampered copy); returns its id. */
  String store(byte[] commitObject) throws IOException {
    Path tmp = Files.createTempFile(dir.getParent(), "commit", ".txt");
    Files.write(tmp, commitObject);
    return run(dir, "git", "hash-object", "-t", "commit", "-w", tmp.toString()).strip();
  }

  /** Signs {@code data} with ssh-keygen in {@code namespace}; returns the armored signature. */
  static String sign(Path key, String namespace, byte[] data, Path scratch) throws IOException {
    Path file = Files.createTempFile(scratch, "payload", ".txt");
    Files.write(file, data);
    run(scratch, "ssh-keygen", "-q", "-Y", "sign", "-f", key.toString(), "-n", namespace, file.toString());
    return Files.readString(Path.of(file + ".sig"));
  }

  static String run(Path dir, String... command) throws IOException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return out;
  }
}
