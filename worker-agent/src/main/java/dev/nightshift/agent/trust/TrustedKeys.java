package dev.nightshift.agent.trust;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/** Reads trusted keys from settings: each entry is an OpenSSH public key line or a file of them. */
public final class TrustedKeys {
  private TrustedKeys() {}

  /**
   * The keys the entries name, without repeats.
   *
   * @param entries key lines ({@code ssh-ed25519 AAAA... comment}) or paths of files holding such lines (blank
   *     lines and {@code #} comments skipped, like an authorized_keys file)
   * @throws IllegalArgumentException naming the entry that is neither
   */
  public static List<TrustedKey> parse(List<String> entries) {
    LinkedHashSet<TrustedKey> keys = new LinkedHashSet<>();
    for (String entry : entries) {
      String e = entry.strip();
      if (e.isEmpty()) {
        continue;
      }
      if (e.startsWith("ssh-")) {
        keys.add(TrustedKey.parse(e));
        continue;
      }
      Path file = Path.of(e);
      List<String> lines;
      try {
        lines = Files.readAllLines(file);
      } catch (IOException | RuntimeException x) {
        throw new IllegalArgumentException("trusted key '" + e + "' is neither an OpenSSH public key line"
            + " ('ssh-ed25519 AAAA... comment') nor a readable file of them");
      }
      List<TrustedKey> inFile = new ArrayList<>();
      for (String line : lines) {
        String l = line.strip();
        if (!l.isEmpty() && !l.startsWith("#")) {
          try {
            inFile.add(TrustedKey.parse(l));
          } catch (IllegalArgumentException x) {
            throw new IllegalArgumentException("in trusted key file " + file + ": " + x.getMessage());
          }
        }
      }
      if (inFile.isEmpty()) {
        throw new IllegalArgumentException("trusted key file " + file + " holds no key");
      }
      keys.addAll(inFile);
    }
    return List.copyOf(keys);
  }
}
