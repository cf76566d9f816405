package dev.nightshift.agent.trust;

import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.Base64;

/**
 * An SSH signature (OpenSSH's PROTOCOL.sshsig, what {@code git -c gpg.format=ssh commit -S} writes into a commit's
 * {@code gpgsig} header), verified with the JDK's own Ed25519.
 *
 * <pre>
 * "SSHSIG" uint32 version(1) string publickey string namespace string reserved string hash_algorithm string signature
 * signed data: "SSHSIG" string namespace string reserved string hash_algorithm string H(message)
 * </pre>
 *
 * @param publicKey the signer's key in SSH wire form
 * @param namespace what the signature is for; Git uses "git"
 * @param hashAlgorithm "sha512" or "sha256"
 * @param reserved the reserved field (empty in practice)
 * @param signature the signature in SSH wire form (string "ssh-ed25519", string 64 bytes)
 */
record SshSignature(byte[] publicKey, String namespace, String hashAlgorithm, byte[] reserved, byte[] signature) {
  static final String BEGIN = "-----BEGIN SSH SIGNATURE-----";
  static final String END = "-----END SSH SIGNATURE-----";
  private static final byte[] MAGIC = "SSHSIG".getBytes(StandardCharsets.US_ASCII);

  /**
   * Parses an armored signature.
   *
   * @throws IllegalArgumentException when it is not a well-formed SSH signature
   */
  static SshSignature parse(String armored) {
    String text = armored.strip();
    if (!text.startsWith(BEGIN) || !text.endsWith(END)) {
      throw new IllegalArgumentException("not an SSH signature (it is not between '" + BEGIN + "' and '" + END
          + "'; an OpenPGP signature? Nightshift verifies SSH signatures: sign with git -c gpg.format=ssh)");
    }
    String body = text.substring(BEGIN.length(), text.length() - END.length()).replaceAll("\\s+", "");
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(body);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the SSH signature is not valid base64");
    }
    try {
      TrustedKey.SshReader r = new TrustedKey.SshReader(blob);
      if (!MessageDigest.isEqual(r.fixed(MAGIC.length), MAGIC)) {
        throw new IllegalArgumentException("the SSH signature does not start with SSHSIG");
      }
      int version = r.uint32();
      if (version != 1) {
        throw new IllegalArgumentException("SSH signature version " + version + " is not supported (only 1)");
      }
      SshSignature s = new SshSignature(r.bytes(), r.string(), null, r.bytes(), null);
      String hash = r.string();
      byte[] sig = r.bytes();
      return new SshSignature(s.publicKey, s.namespace, hash, s.reserved, sig);
    } catch (BufferUnderflowException | IllegalStateException e) {
      throw new IllegalArgumentException("the SSH signature is truncated or malformed");
    }
  }

  /** Whether this signature of {@code message} verifies under {@code key} (which must be the signer's). */
  boolean verifies(byte[] message, TrustedKey key) {
    try {
      TrustedKey.SshReader sr = new TrustedKey.SshReader(signature);
      String type = sr.string();
      byte[] raw = sr.bytes();
      if (!type.equals(TrustedKey.ED25519) || raw.length != 64) {
        return false;
      }
      Signature v = Signature.getInstance("Ed25519");
      v.initVerify(key.publicKey());
      v.update(signedData(message));
      return v.verify(raw);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** The bytes the signer signed: the preamble, the namespace, reserved, the hash algorithm and the message's hash. */
  byte[] signedData(byte[] message) throws GeneralSecurityException {
    String jdkName = switch (hashAlgorithm) {
      case "sha512" -> "SHA-512";
      case "sha256" -> "SHA-256";
      default -> throw new GeneralSecurityException("unsupported hash algorithm " + hashAlgorithm);
    };
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(MAGIC);
    string(out, namespace.getBytes(StandardCharsets.UTF_8));
    string(out, reserved);
    string(out, hashAlgorithm.getBytes(StandardCharsets.UTF_8));
    string(out, MessageDigest.getInstance(jdkName).digest(message));
    return out.toByteArray();
  }

  private static void string(ByteArrayOutputStream out, byte[] b) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
    out.writeBytes(b);
  }
}
