package dev.nightshift.server.code;

import dev.nightshift.server.system.NightshiftProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.Scheduled;

/** Turns the mirror on when {@code NIGHTSHIFT_CODE_UPSTREAM} is set, and runs it on a schedule. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${nightshift.code.upstream:}' != ''")
class UpstreamMirrorConfig {
  private static final Logger log = LoggerFactory.getLogger(UpstreamMirrorConfig.class);

  @Bean
  UpstreamMirror upstreamMirror(CodeRepository code, NightshiftProperties properties) {
    return new UpstreamMirror(code, properties.code());
  }

  @Bean
  MirrorSchedule mirrorSchedule(UpstreamMirror mirror) {
    return new MirrorSchedule(mirror);
  }

  /** The scheduled run; a failure is logged and retried at the next interval. */
  static class MirrorSchedule {
    private final UpstreamMirror mirror;

    MirrorSchedule(UpstreamMirror mirror) {
      this.mirror = mirror;
    }

    @Scheduled(fixedDelayString = "${nightshift.code.mirror-interval:60s}")
    void run() {
      try {
        mirror.mirror();
      } catch (RuntimeException e) {
        log.warn("{} (will try again)", e.getMessage());
      }
    }
  }
}
