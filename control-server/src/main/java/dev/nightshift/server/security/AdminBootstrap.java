package dev.nightshift.server.security;

import dev.nightshift.server.system.NightshiftProperties;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.stereotype.Component;

/**
 * Makes sure the {@code admin} user exists: with {@code NIGHTSHIFT_ADMIN_PASSWORD} when set (applied at every
 * start, so a lost password is reset by restarting with it), else with a generated password printed once. Only the
 * bcrypt hash is stored.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class AdminBootstrap implements ApplicationRunner {
  static final String ADMIN = "admin";
  private static final Logger log = LoggerFactory.getLogger(AdminBootstrap.class);
  private final UserRepository users;
  private final PasswordEncoder encoder;
  private final NightshiftProperties properties;
  private final Clock clock;

  AdminBootstrap(UserRepository users, PasswordEncoder encoder, NightshiftProperties properties, Clock clock) {
    this.users = users;
    this.encoder = encoder;
    this.properties = properties;
    this.clock = clock;
  }

  /** Refuses to start with an admin password that could be guessed (the same rule as every user's password). */
  static void checkConfigured(String password) {
    if (password.length() < UserService.MIN_PASSWORD) {
      throw new IllegalStateException(
          "NIGHTSHIFT_ADMIN_PASSWORD is too short (" + password.length() + " characters): use at least "
              + UserService.MIN_PASSWORD + " characters, e.g. the output of 'openssl rand -base64 18'");
    }
  }

  @Override
  public void run(ApplicationArguments args) {
    String configured = properties.adminPassword();
    var existing = users.find(ADMIN);
    if (configured != null && !configured.isBlank()) {
      checkConfigured(configured);
      if (configured.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > UserService.MAX_PASSWORD_BYTES) {
        throw new IllegalStateException(
            "NIGHTSHIFT_ADMIN_PASSWORD is longer than " + UserService.MAX_PASSWORD_BYTES + " bytes in UTF-8, more"
                + " than bcrypt reads: choose a shorter one");
      }
      if (existing.isEmpty()) {
        users.insert(ADMIN, encoder.encode(configured), Role.ADMIN, clock.instant());
        log.info("created user 'admin' with the password from NIGHTSHIFT_ADMIN_PASSWORD");
      } else if (!encoder.matches(configured, existing.get().passwordHash())) {
        users.updatePassword(ADMIN, encoder.encode(configured));
        log.info("set the password of user 'admin' from NIGHTSHIFT_ADMIN_PASSWORD");
      }
      return;
    }
    if (existing.isEmpty()) {
      String generated = Tokens.random().substring(0, 24);
      users.insert(ADMIN, encoder.encode(generated), Role.ADMIN, clock.instant());
      // Printed once, on purpose to standard output rather than only the log; only the hash is kept.
      System.out.println();
      System.out.println("=== Nightshift: created user 'admin' with password: " + generated);
      System.out.println("=== It is shown only this once. Set NIGHTSHIFT_ADMIN_PASSWORD to choose your own.");
      System.out.println();
    }
  }
}
