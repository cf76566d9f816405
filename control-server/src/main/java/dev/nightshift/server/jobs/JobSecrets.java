package dev.nightshift.server.jobs;

import dev.nightshift.server.system.NightshiftProperties;
import dev.nightshift.server.system.PrivateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * A job's secrets, sealed at rest: AES-256-GCM under the server's secrets key, which lives in a file (never in the
 * database, so a database dump or backup holds no usable secret). The key file is {@code nightshift.secrets.key-file}
 * ({@code NIGHTSHIFT_SECRETS_KEY_FILE}), by default {@code <data dir>/secrets.key}, made (32 random bytes, base64,
 * 0600) on first use. Every server instance on one database needs the same key file. Rotation: name the old files in
 * {@code nightshift.secrets.previous-key-files} (comma-separated); they still open what they sealed, new jobs are
 * sealed with the current key. A sealed value is {@code v1:} and base64 of key id (8 bytes of the key's SHA-256),
 * nonce (12) and ciphertext with its tag. See docs/security.md.
 */
@Component
public class JobSecrets {
  private static final Logger log = LoggerFactory.getLogger(JobSecrets.class);
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final byte[] AAD = "nightshift job secrets v1".getBytes(StandardCharsets.US_ASCII);
  private static final String PREFIX = "v1:";
  private static final int NONCE = 12;
  private static final int KEY_ID = 8;

  private record Key(byte[] id, SecretKeySpec spec, Path file) {}

  private final JsonMapper json;
  private final SecureRandom random = new SecureRandom();
  private final Path keyFile;
  private final List<Path> previousFiles;
  private volatile List<Key> keys; // the current key first; read on first use

  JobSecrets(
      JsonMapper json,
      NightshiftProperties properties,
      @Value("${nightshift.secrets.key-file:}") String keyFile,
      @Value("${nightshift.secrets.previous-key-files:}") List<String> previousKeyFiles) {
    this.json = json;
    this.keyFile =
        keyFile == null || keyFile.isBlank() ? properties.dataDir().resolve("secrets.key") : Path.of(keyFile);
    this.previousFiles = previousKeyFiles.stream().filter(s -> !s.isBlank()).map(s -> Path.of(s.strip())).toList();
  }

  /** The sealed form of these secrets, or null when there are none. */
  public String seal(Map<String, String> secrets) {
    if (secrets == null || secrets.isEmpty()) {
      return null;
    }
    Key key = keys().get(0);
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key.spec, new GCMParameterSpec(128, nonce));
      c.updateAAD(AAD);
      byte[] sealed = c.doFinal(json.writeValueAsBytes(secrets));
      byte[] all = new byte[KEY_ID + NONCE + sealed.length];
      System.arraycopy(key.id, 0, all, 0, KEY_ID);
      System.arraycopy(nonce, 0, all, KEY_ID, NONCE);
      System.arraycopy(sealed, 0, all, KEY_ID + NONCE, sealed.length);
      return PREFIX + Base64.getEncoder().encodeToString(all);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot seal job secrets: " + e, e);
    }
  }

  /**
   * The secrets sealed by {@link #seal}; empty for null. Throws {@link IllegalStateException} naming the key id when
   * no key this server has opens them (an instance with another key file, or a key file replaced without keeping
   * the old one in {@code nightshift.secrets.previous-key-files}).
   */
  public Map<String, String> open(String sealed) {
    if (sealed == null || sealed.isEmpty()) {
      return Map.of();
    }
    if (!sealed.startsWith(PREFIX)) {
      throw new IllegalStateException("job secrets in an unknown format");
    }
    byte[] all = Base64.getDecoder().decode(sealed.substring(PREFIX.length()));
    byte[] id = Arrays.copyOfRange(all, 0, KEY_ID);
    for (Key key : keys()) {
      if (MessageDigest.isEqual(key.id, id)) {
        try {
          Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
          c.init(Cipher.DECRYPT_MODE, key.spec, new GCMParameterSpec(128, all, KEY_ID, NONCE));
          c.updateAAD(AAD);
          byte[] plain = c.doFinal(all, KEY_ID + NONCE, all.length - KEY_ID - NONCE);
          return json.readValue(plain, STRING_MAP);
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("job secrets do not open with key " + hex(id) + " (" + key.file
              + "): altered in the database?", e);
        }
      }
    }
    throw new IllegalStateException("job secrets were sealed with key " + hex(id) + ", which this server does not"
        + " have (current: " + hex(keys().get(0).id) + " in " + keyFile + "): give every server instance the same"
        + " nightshift.secrets.key-file, and keep replaced keys in nightshift.secrets.previous-key-files");
  }

  /** The id of the current key (hex), as logged and as docs/security.md tells to compare across instances. */
  public String keyId() {
    return hex(keys().get(0).id);
  }

  private List<Key> keys() {
    List<Key> k = keys;
    if (k == null) {
      synchronized (this) {
        if (keys == null) {
          List<Key> loaded = new ArrayList<>();
          loaded.add(load(keyFile, true));
          previousFiles.forEach(f -> loaded.add(load(f, false)));
          keys = List.copyOf(loaded);
          log.info("job secrets key {} ({}), {} previous key(s)", hex(keys.get(0).id), keyFile, previousFiles.size());
        }
        k = keys;
      }
    }
    return k;
  }

  private Key load(Path file, boolean create) {
    try {
      if (create && !Files.exists(file)) {
        byte[] fresh = new byte[32];
        random.nextBytes(fresh);
        PrivateFiles.privateDir(file.toAbsolutePath().getParent());
        PrivateFiles.writePrivate(file, Base64.getEncoder().encodeToString(fresh) + "\n");
        log.info("made a new job secrets key in {} (keep it: jobs' secrets cannot be read without it)", file);
      }
      byte[] raw = Base64.getDecoder().decode(Files.readString(file).strip());
      if (raw.length != 32) {
        throw new IllegalStateException(file + " holds " + raw.length + " bytes; a secrets key is 32 random bytes,"
            + " base64 (head -c 32 /dev/urandom | base64 > " + file + ")");
      }
      byte[] id = Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(raw), KEY_ID);
      return new Key(id, new SecretKeySpec(raw, "AES"), file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the job secrets key " + file + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(file + " is not base64: a secrets key is 32 random bytes, base64", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] id) {
    return HexFormat.of().formatHex(id);
  }

  /** The names of these secrets in order, for the API (values are never shown). */
  static List<String> names(Map<String, String> secrets) {
    return secrets == null ? List.of() : List.copyOf(new LinkedHashMap<>(secrets).keySet());
  }
}
