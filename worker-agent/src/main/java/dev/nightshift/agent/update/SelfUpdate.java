package dev.nightshift.agent.update;

import dev.nightshift.agent.client.TrustedCa;
import dev.nightshift.agent.system.DaemonThreads;
import dev.nightshift.protocol.AgentOffer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The agent's side of self-update, when its launcher started it: takes the agent build a heartbeat reply offers,
 * downloads it in the background, checks its SHA-256, stages it as {@code versions/<version>.jar} and names it in
 * {@code staged}; then tells the loop, which stops claiming, lets its batches finish and exits with
 * {@link #EXIT_RESTART}, and the launcher starts the staged version on trial. Also writes the launcher's
 * "first heartbeat succeeded" marker and reads the version the launcher rolled back, for heartbeats.
 */
public final class SelfUpdate {
  private static final Logger LOG = Logger.getLogger(SelfUpdate.class.getName());
  /** The agent's exit code for "restart me into the staged version" (EX_TEMPFAIL). */
  public static final int EXIT_RESTART = 75;
  /** The longest a download may take. */
  static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(10);

  /** A refused download: the offer is not followed (it may be offered again, and is tried again). */
  public static final class RefusedException extends Exception {
    RefusedException(String message) {
      super(message);
    }
  }

  private final LauncherDir dir;
  private final URI server;
  private final String runningVersion;
  private final HttpClient http;
  private final ExecutorService downloads =
      Executors.newSingleThreadExecutor(DaemonThreads.named("nightshift-self-update"));
  private volatile Consumer<String> onStaged = v -> {};
  private volatile boolean heartbeatRecorded;
  /** The version being downloaded or staged; null when none. Guarded by this. */
  private String inProgress;
  private volatile String staged;

  public SelfUpdate(LauncherDir dir, URI server, String runningVersion, TrustedCa trustedCa) {
    this.dir = dir;
    this.server = server;
    this.runningVersion = runningVersion;
    HttpClient.Builder b =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL);
    if (trustedCa != null) {
      b.sslContext(trustedCa.sslContext());
    }
    this.http = b.build();
  }

  /** Called with the version once a download is staged: the agent finishes its batches and exits to restart. */
  public void onStaged(Consumer<String> then) {
    this.onStaged = then;
  }

  /** The version this agent's launcher tried and rolled back, for heartbeats; null when none. */
  public String refused() {
    return LauncherDir.read(dir.refused());
  }

  /** The version staged to restart into; null before one is. */
  public String staged() {
    return staged;
  }

  /**
   * A heartbeat was answered: the launcher's marker is written (once), and an offer of another version than this
   * one, not refused before, is downloaded in the background. Never throws.
   */
  public void heartbeatAnswered(AgentOffer offer) {
    if (!heartbeatRecorded) {
      try {
        LauncherDir.write(dir.heartbeatOk(), runningVersion);
        heartbeatRecorded = true;
      } catch (IOException | RuntimeException e) {
        LOG.warning("could not tell the launcher that heartbeats succeed (" + dir.heartbeatOk() + "): " + e);
      }
    }
    if (offer == null || offer.version() == null || offer.version().equals(runningVersion)
        || offer.version().equals(refused())) {
      return;
    }
    synchronized (this) {
      if (inProgress != null || staged != null) {
        return;
      }
      inProgress = offer.version();
    }
    downloads.execute(
        () -> {
          try {
            stage(offer);
            staged = offer.version();
            LOG.info("agent " + offer.version() + " staged; finishing running batches, then restarting into it");
            onStaged.accept(offer.version());
          } catch (RefusedException e) {
            LOG.warning("not updating to agent " + offer.version() + ": " + e.getMessage());
          } catch (Throwable t) {
            LOG.log(Level.WARNING, "could not download agent " + offer.version() + " (tried again when offered)", t);
          } finally {
            synchronized (this) {
              inProgress = null;
            }
          }
        });
  }

  /**
   * Downloads the offered jar, checks its SHA-256 and moves it to {@code versions/<version>.jar}, then names it in
   * {@code staged}. A digest that differs, or a version that cannot name a file, is refused and nothing is staged.
   */
  public Path stage(AgentOffer offer) throws IOException, InterruptedException, RefusedException {
    if (!LauncherDir.validVersion(offer.version())) {
      throw new RefusedException("the offered version '" + offer.version() + "' cannot name a file");
    }
    String expected = offer.sha256() == null ? "" : offer.sha256().trim().toLowerCase(Locale.ROOT);
    if (!expected.matches("[0-9a-f]{64}")) {
      throw new RefusedException("the offer has no valid SHA-256 (" + offer.sha256() + ")");
    }
    URI url = resolve(offer.url());
    Files.createDirectories(dir.versions());
    Path tmp = Files.createTempFile(dir.versions(), "download-", ".tmp");
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      HttpResponse<InputStream> r =
          http.send(
              HttpRequest.newBuilder(url).timeout(DOWNLOAD_TIMEOUT).header("User-Agent",
                  "nightshift-agent/" + runningVersion).GET().build(),
              HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(tmp)) {
        if (r.statusCode() != 200) {
          throw new IOException("GET " + url + " answered " + r.statusCode());
        }
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = in.read(buffer)) >= 0) {
          sha.update(buffer, 0, n);
          out.write(buffer, 0, n);
        }
      }
      String actual = HexFormat.of().formatHex(sha.digest());
      if (!actual.equals(expected)) {
        throw new RefusedException("the download from " + url + " has SHA-256 " + actual + ", the server named "
            + expected + ": not installed");
      }
      Path jar = dir.jar(offer.version());
      Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      LauncherDir.write(dir.staged(), offer.version());
      return jar;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** The offer's URL: a path on the agent's server, or an absolute URL. */
  URI resolve(String url) {
    if (url == null || url.isBlank()) {
      url = "/install/nightshift-agent.jar";
    }
    URI u = URI.create(url.trim());
    if (u.isAbsolute()) {
      return u;
    }
    String base = server.toString();
    base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    return URI.create(base + (url.startsWith("/") ? "" : "/") + url.trim());
  }

  public void shutdown() {
    downloads.shutdownNow();
  }
}
