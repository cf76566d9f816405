package dev.nightshift.server.install;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Component;

/**
 * The agent this server hands out: its jar, version and SHA-256, read once. The one place that knows them, for the
 * install endpoints now and for heartbeat replies naming the agent to update to later.
 */
@Component
public class AgentDownload {
  /** Where the build puts the shaded agent jar inside the server jar. */
  static final String CLASSPATH_JAR = "install/nightshift-agent.jar";

  /**
   * @param version the agent's Implementation-Version ("dev" when its manifest has none)
   * @param sha256 lower-case hex SHA-256 of the jar's bytes
   * @param size the jar's size in bytes
   */
  public record Served(String version, String sha256, long size) {}

  private final Resource jar;
  private volatile Served served;
  private volatile long servedStamp;

  AgentDownload(InstallProperties properties) {
    this.jar =
        properties.agentJar() != null
            ? new FileSystemResource(properties.agentJar())
            : new ClassPathResource(CLASSPATH_JAR);
  }

  /**
   * The served agent, or empty when this server has no agent jar (built without it, or a missing file). Read once,
   * and again when the configured file changes; a missing jar is looked for again at the next call.
   */
  public Optional<Served> served() {
    Served s = served;
    long stamp = stamp();
    if (s == null || stamp != servedStamp) {
      synchronized (this) {
        s = served;
        if (s == null || stamp != servedStamp) {
          s = read().orElse(null);
          served = s;
          servedStamp = stamp;
        }
      }
    }
    return Optional.ofNullable(s);
  }

  /**
   * When a jar file (not the one inside the server jar) was last changed, so a replaced file is read again without
   * a restart (an admin rolling out a patched agent); 0 for the built-in jar.
   */
  private long stamp() {
    if (!(jar instanceof FileSystemResource file)) {
      return 0;
    }
    try {
      java.nio.file.attribute.BasicFileAttributes a =
          java.nio.file.Files.readAttributes(file.getFile().toPath(), java.nio.file.attribute.BasicFileAttributes.class);
      return a.lastModifiedTime().toMillis() * 31 + a.size();
    } catch (IOException e) {
      return -1;
    }
  }

  /** The jar's bytes; only after {@link #served()} said there is one. */
  InputStream open() throws IOException {
    return jar.getInputStream();
  }

  /** Where the jar comes from, for messages. */
  String source() {
    return jar.getDescription();
  }

  private Optional<Served> read() {
    if (!jar.exists()) {
      return Optional.empty();
    }
    try (InputStream in = jar.getInputStream()) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      DigestInputStream digesting = new DigestInputStream(in, sha);
      String version = "dev";
      try (JarInputStream jarIn = new JarInputStream(digesting)) {
        Manifest manifest = jarIn.getManifest();
        String v = manifest == null ? null : manifest.getMainAttributes().getValue("Implementation-Version");
        if (v != null && !v.isBlank()) {
          version = v;
        }
        // the rest of the bytes, for the digest (what the manifest read went through it already)
        byte[] buffer = new byte[64 * 1024];
        while (digesting.read(buffer) >= 0) {
          // digesting
        }
        return Optional.of(new Served(version, HexFormat.of().formatHex(sha.digest()), jar.contentLength()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the agent jar " + jar.getDescription(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
