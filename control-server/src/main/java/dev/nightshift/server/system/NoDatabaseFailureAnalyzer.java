package dev.nightshift.server.system;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Turns a missing database into a start-up message that says what to set. */
class NoDatabaseFailureAnalyzer extends AbstractFailureAnalyzer<NoDatabaseConfiguredException> {
  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, NoDatabaseConfiguredException cause) {
    return new FailureAnalysis(
        "No database is configured: SPRING_DATASOURCE_URL is not set and the embedded database is not on the"
            + " class path.",
        "Either point the server at MySQL 8.0+ or MariaDB 10.6+:\n"
            + "  SPRING_DATASOURCE_URL=jdbc:mariadb://db-host:3306/nightshift (or jdbc:mysql://...)\n"
            + "  SPRING_DATASOURCE_USERNAME=nightshift SPRING_DATASOURCE_PASSWORD=...\n"
            + "or start it with the embedded database added (for trying it out):\n"
            + "  java -Dloader.path=control-server/target/embedded-db -jar control-server/target/nightshift-server.jar",
        cause);
  }
}
