package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.datasource.AbstractDataSource;

/** Schema migrations run on connections without the driver's socket timeout. */
class MigrationTimeoutsTest {

  @Test
  void migrationConnectionsHaveNoSocketTimeout() throws Exception {
    List<String> calls = new ArrayList<>();
    Connection connection =
        (Connection)
            Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                  calls.add(method.getName() + (method.getName().equals("setNetworkTimeout") ? "=" + args[1] : ""));
                  return null;
                });
    AbstractDataSource pool =
        new AbstractDataSource() {
          @Override
          public Connection getConnection() {
            return connection;
          }

          @Override
          public Connection getConnection(String username, String password) {
            return connection;
          }
        };
    FluentConfiguration configuration = new FluentConfiguration().dataSource(pool);
    new MigrationTimeouts().migrationsWithoutSocketTimeout().customize(configuration);

    assertThat(configuration.getDataSource().getConnection()).isSameAs(connection);
    assertThat(calls).containsExactly("setNetworkTimeout=0");
  }
}
