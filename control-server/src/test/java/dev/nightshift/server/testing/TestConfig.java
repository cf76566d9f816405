package dev.nightshift.server.testing;

import java.time.Clock;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** Beans every Spring test context shares: the settable clock. */
@TestConfiguration(proxyBeanMethods = false)
public class TestConfig {
  @Bean
  @Primary
  MutableClock mutableClock() {
    return new MutableClock();
  }
}
