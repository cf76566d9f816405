package dev.nightshift.server.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Random secrets and their stored form. Tokens carry 256 random bits, so a fast SHA-256 hash is the right stored
 * form (bcrypt is for low-entropy passwords); the prefix says what kind of token a leaked string is.
 */
public final class Tokens {
  /** Prefix of agent tokens. */
  public static final String AGENT = "nsa_";
  /** Prefix of enrollment tokens created through the API. */
  public static final String ENROLLMENT = "nse_";
  /** Prefix of API tokens (scripts and CI on {@code /api/**}). */
  public static final String API = "nst_";

  private static final SecureRandom RANDOM = new SecureRandom();

  private Tokens() {}

  /** 32 random bytes, base64url without padding: 43 characters. */
  public static String random() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  public static String newToken(String prefix) {
    return prefix + random();
  }

  public static String sha256(String secret) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Compares secrets in constant time. */
  public static boolean same(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }
}
