package dev.nightshift.server.install;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Component;

/**
 * The agent this server hands out: its jar (version, SHA-256) and, for Linux x64, the runtime bundle (a minimal Java
 * made by jlink during the build, so a desktop needs no Java), each read once. The one place that knows them, for the
 * install endpoints and for heartbeat replies naming the agent to update to.
 */
@Component
public class AgentDownload {
  /** Where the build puts the shaded agent jar inside the server jar. */
  static final String CLASSPATH_JAR = "install/nightshift-agent.jar";
  /** The runtime bundle's file name, under {@code /install/} and inside the server jar. */
  static final String RUNTIME = "nightshift-agent-runtime-linux-x64.tar.gz";
  /** The platform the runtime bundle is for, as {@code agent.sh} names it. */
  static final String RUNTIME_PLATFORM = "linux-x64";

  /**
   * @param version the agent's Implementation-Version ("dev" when its manifest has none)
   * @param sha256 lower-case hex SHA-256 of the jar's bytes
   * @param size the jar's size in bytes
   */
  public record Served(String version, String sha256, long size) {}

  /**
   * @param sha256 lower-case hex SHA-256 of the tarball's bytes
   * @param size the tarball's size in bytes
   */
  public record ServedRuntime(String sha256, long size) {}

  private final ServedFile<Served> jar;
  private final ServedFile<ServedRuntime> runtime;

  AgentDownload(InstallProperties properties) {
    this.jar =
        new ServedFile<>(
            properties.agentJar() != null
                ? new FileSystemResource(properties.agentJar())
                : new ClassPathResource(CLASSPATH_JAR),
            AgentDownload::readJar);
    this.runtime =
        new ServedFile<>(
            properties.agentRuntime() != null
                ? new FileSystemResource(properties.agentRuntime())
                : new ClassPathResource("install/" + RUNTIME),
            (resource, in) -> new ServedRuntime(digest(in), contentLength(resource)));
  }

  /**
   * The served agent, or empty when this server has no agent jar (built without it, or a missing file). Read once,
   * and again when the configured file changes; a missing jar is looked for again at the next call.
   */
  public Optional<Served> served() {
    return jar.get();
  }

  /** The served runtime bundle, or empty when this server has none (built on another platform, or skipped). */
  public Optional<ServedRuntime> servedRuntime() {
    return runtime.get();
  }

  /** The jar's bytes; only after {@link #served()} said there is one. */
  InputStream open() throws IOException {
    return jar.resource.getInputStream();
  }

  /** The runtime bundle's bytes; only after {@link #servedRuntime()} said there is one. */
  InputStream openRuntime() throws IOException {
    return runtime.resource.getInputStream();
  }

  /** Where the jar comes from, for messages. */
  String source() {
    return jar.resource.getDescription();
  }

  /** Where the runtime bundle comes from, for messages. */
  String runtimeSource() {
    return runtime.resource.getDescription();
  }

  private static Served readJar(Resource resource, InputStream in) {
    try {
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
        digesting.transferTo(OutputStream.nullOutputStream());
        return new Served(version, HexFormat.of().formatHex(sha.digest()), contentLength(resource));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the agent jar " + resource.getDescription(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String digest(InputStream in) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      new DigestInputStream(in, sha).transferTo(OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(sha.digest());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long contentLength(Resource resource) {
    try {
      return resource.contentLength();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A file served under {@code /install/} with what is read from its bytes (digest, size, version), read once and
   * again when a configured file changes (an admin rolling out a patched agent without a restart); a missing file is
   * looked for again at the next call.
   */
  private static final class ServedFile<T> {
    final Resource resource;
    private final BiFunction<Resource, InputStream, T> reader;
    private volatile T value;
    private volatile long valueStamp;

    ServedFile(Resource resource, BiFunction<Resource, InputStream, T> reader) {
      this.resource = resource;
      this.reader = reader;
    }

    Optional<T> get() {
      T v = value;
      long stamp = stamp();
      if (v == null || stamp != valueStamp) {
        synchronized (this) {
          v = value;
          if (v == null || stamp != valueStamp) {
            v = read();
            value = v;
            valueStamp = stamp;
          }
        }
      }
      return Optional.ofNullable(v);
    }

    private T read() {
      if (!resource.exists()) {
        return null;
      }
      try (InputStream in = resource.getInputStream()) {
        return reader.apply(resource, in);
      } catch (IOException e) {
        throw new UncheckedIOException("could not read " + resource.getDescription(), e);
      }
    }

    /** When a file (not one inside the server jar) was last changed; 0 for a classpath resource. */
    private long stamp() {
      if (!(resource instanceof FileSystemResource file)) {
        return 0;
      }
      try {
        BasicFileAttributes a = Files.readAttributes(file.getFile().toPath(), BasicFileAttributes.class);
        return a.lastModifiedTime().toMillis() * 31 + a.size();
      } catch (IOException e) {
        return -1;
      }
    }
  }
}
