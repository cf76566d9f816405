package dev.nightshift.agent.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * Trust for a server whose certificate comes from a private CA (or is self-signed): the certificates of a PEM file
 * ({@code --ca-file}) become the only trust anchors of the agent's HTTPS calls and Git fetches. Host names are
 * still verified.
 */
public final class TrustedCa {
  private final Path file;
  private final TrustManager[] trustManagers;
  private final SSLContext context;

  private TrustedCa(Path file, TrustManager[] trustManagers, SSLContext context) {
    this.file = file;
    this.trustManagers = trustManagers;
    this.context = context;
  }

  /**
   * Reads every certificate of a PEM (or DER) file.
   *
   * @throws IllegalArgumentException with a message saying what is wrong with the file
   */
  public static TrustedCa load(Path file) {
    Collection<? extends Certificate> certificates;
    try (InputStream in = Files.newInputStream(file)) {
      certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read CA file " + file + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "CA file " + file + " holds no readable certificate (expected PEM, '-----BEGIN CERTIFICATE-----'): "
              + e.getMessage(), e);
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(
          "CA file " + file + " holds no certificate (expected PEM, '-----BEGIN CERTIFICATE-----')");
    }
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : certificates) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return new TrustedCa(file, tmf.getTrustManagers(), context);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot use CA file " + file + ": " + e.getMessage(), e);
    }
  }

  public Path file() {
    return file;
  }

  public SSLContext sslContext() {
    return context;
  }

  public TrustManager[] trustManagers() {
    return trustManagers.clone();
  }
}
