package dev.nightshift.server.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.ContextConfiguration;

/**
 * A full server on a random port against a fresh database on a real MySQL-family server. Every test class using
 * exactly this annotation shares one Spring context (keep it that way: each extra context costs seconds).
 * Background steps are off: tests drive the reaper directly on the settable clock. Each context has its own data
 * directory (so its own code repository).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "nightshift.background.enabled=false",
      "nightshift.admin-password=" + Http.ADMIN_PASSWORD,
      "nightshift.enrollment-token=" + Http.ENROLLMENT_TOKEN,
      "nightshift.claim.poll-interval=200ms",
      "nightshift.security.reserved-labels=secure-zone",
      "nightshift.retry.initial-backoff=1s",
      "logging.level.dev.nightshift=INFO",
      // a small jar the install tests write (install/InstallControllerTest), not the real agent
      "nightshift.install.agent-jar=" + NightshiftTest.SERVED_AGENT_JAR,
      // none until a test writes one: the real bundle may or may not be in target/classes
      "nightshift.install.agent-runtime=" + NightshiftTest.SERVED_AGENT_RUNTIME
    })
@ContextConfiguration(initializers = TestDatabase.Initializer.class)
@Import(TestConfig.class)
public @interface NightshiftTest {
  /** Where the shared context's server looks for the agent jar it serves at /install/. */
  String SERVED_AGENT_JAR = "target/test-served-agent/nightshift-agent.jar";

  /** Where it looks for the runtime bundle it serves at /install/ (absent unless a test writes one). */
  String SERVED_AGENT_RUNTIME = "target/test-served-agent/nightshift-agent-runtime-linux-x64.tar.gz";
}
