package dev.nightshift.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/** The Nightshift control server: job queue, agent protocol, admin API. */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class NightshiftServer {
  public static void main(String[] args) {
    SpringApplication.run(NightshiftServer.class, args);
  }
}
