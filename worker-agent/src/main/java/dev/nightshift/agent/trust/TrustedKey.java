package dev.nightshift.agent.trust;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * An Ed25519 public key in OpenSSH form ({@code ssh-ed25519 AAAA... comment}) that releases may be signed with.
 *
 * @param blob the key in SSH wire form (string "ssh-ed25519", string key), as in the OpenSSH line's base64
 * @param comment the line's comment (often the owner's e-mail), or ""
 */
public record TrustedKey(byte[] blob, String comment) {
  static final String ED25519 = "ssh-ed25519";
  /** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
  private static final byte[] X509_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
  };

  public TrustedKey {
    blob = blob.clone();
    comment = comment == null ? "" : comment;
    raw(blob); // checks the form
  }

  /**
   * Parses one OpenSSH public key line.
   *
   * @throws IllegalArgumentException when it is not an {@code ssh-ed25519} key line
   */
  public static TrustedKey parse(String line) {
    String[] parts = line.strip().split("\\s+", 3);
    if (parts.length < 2 || !parts[0].equals(ED25519)) {
      throw new IllegalArgumentException("expected an OpenSSH Ed25519 public key line such as"
          + " 'ssh-ed25519 AAAAC3Nza... you@example.com' (from ssh-keygen -t ed25519), got '" + shorten(line) + "'");
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the key in '" + shorten(line) + "' is not valid base64");
    }
    return new TrustedKey(blob, parts.length > 2 ? parts[2].strip() : "");
  }

  /** The 32 raw key bytes inside an SSH wire-form Ed25519 key. */
  static byte[] raw(byte[] blob) {
    try {
      SshReader r = new SshReader(blob);
      String type = r.string();
      byte[] key = r.bytes();
      if (!type.equals(ED25519) || key.length != 32 || r.remaining() != 0) {
        throw new IllegalArgumentException("not an ssh-ed25519 public key (" + type + ")");
      }
      return key;
    } catch (java.nio.BufferUnderflowException | IllegalStateException e) {
      throw new IllegalArgumentException("not an SSH public key: " + e.getMessage());
    }
  }

  /** The key for the JDK's Ed25519 {@link java.security.Signature}. */
  PublicKey publicKey() {
    byte[] der = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + 32);
    System.arraycopy(raw(blob), 0, der, X509_PREFIX.length, 32);
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this Java has no Ed25519 (needs Java 15 or later): " + e, e);
    }
  }

  /** The key's fingerprint as ssh-keygen -l shows it: {@code SHA256:<base64 without padding>}. */
  public String fingerprint() {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(blob);
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(d);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether {@code otherBlob} (SSH wire form) is this key. */
  boolean matches(byte[] otherBlob) {
    return MessageDigest.isEqual(blob, otherBlob);
  }

  /** The fingerprint and the comment, for logs and messages. */
  public String describe() {
    return fingerprint() + (comment.isEmpty() ? "" : " (" + comment + ")");
  }

  /** The OpenSSH line. */
  public String line() {
    return ED25519 + " " + Base64.getEncoder().encodeToString(blob) + (comment.isEmpty() ? "" : " " + comment);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TrustedKey k && Arrays.equals(blob, k.blob);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(blob);
  }

  @Override
  public String toString() {
    return describe();
  }

  private static String shorten(String s) {
    String t = s.strip();
    return t.length() <= 60 ? t : t.substring(0, 57) + "...";
  }

  /** Reads SSH wire-format values (RFC 4251: uint32, string). */
  static final class SshReader {
    private final ByteBuffer buf;

    SshReader(byte[] data) {
      this.buf = ByteBuffer.wrap(data);
    }

    int uint32() {
      return buf.getInt();
    }

    byte[] bytes() {
      int n = buf.getInt();
      if (n < 0 || n > buf.remaining()) {
        throw new IllegalStateException("a field claims " + n + " bytes, " + buf.remaining() + " are left");
      }
      byte[] b = new byte[n];
      buf.get(b);
      return b;
    }

    String string() {
      return new String(bytes(), StandardCharsets.UTF_8);
    }

    byte[] fixed(int n) {
      byte[] b = new byte[n];
      buf.get(b);
      return b;
    }

    int remaining() {
      return buf.remaining();
    }
  }
}
