package dev.nightshift.server.system;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.DelegatingDataSource;

/**
 * Schema migrations may run for minutes on big tables: their connections are exempt from the driver's socket
 * timeout ({@code spring.datasource.hikari.data-source-properties.socketTimeout}), which is there to bound how long
 * a request can hang on a database that vanished without closing its connections. The pool puts the timeout back
 * when the connection is returned to it.
 */
@Configuration(proxyBeanMethods = false)
class MigrationTimeouts {

  @Bean
  FlywayConfigurationCustomizer migrationsWithoutSocketTimeout() {
    return configuration -> {
      DataSource pool = configuration.getDataSource();
      if (pool == null) {
        return;
      }
      configuration.dataSource(
          new DelegatingDataSource(pool) {
            @Override
            public Connection getConnection() throws SQLException {
              return untimed(super.getConnection());
            }

            @Override
            public Connection getConnection(String username, String password) throws SQLException {
              return untimed(super.getConnection(username, password));
            }
          });
    };
  }

  private static Connection untimed(Connection connection) throws SQLException {
    connection.setNetworkTimeout(Runnable::run, 0);
    return connection;
  }
}
