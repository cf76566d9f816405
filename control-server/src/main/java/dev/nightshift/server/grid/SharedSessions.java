package dev.nightshift.server.grid;

import dev.nightshift.server.system.DatabaseOutage;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.session.MapSession;
import org.springframework.session.MapSessionRepository;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.jdbc.JdbcIndexedSessionRepository;

/**
 * Dashboard sessions in the database (Spring Session JDBC), so a login made through one server instance is valid on
 * every other (docs/scale-out.md). While the database is unreachable, sessions are kept in this instance's memory
 * instead, as they were before sessions were shared: the login page still gets its CSRF token and the login form
 * still answers "unavailable" (not a 500). Expired sessions are deleted once a minute here (Spring's own cleanup is
 * off: it logs a stack trace a minute through an outage).
 */
@Configuration(proxyBeanMethods = false)
class SharedSessions {
  @Bean
  static BeanPostProcessor outageTolerantSessions() {
    return new BeanPostProcessor() {
      @Override
      public Object postProcessAfterInitialization(Object bean, String beanName) {
        return bean instanceof JdbcIndexedSessionRepository jdbc ? new Tolerant(jdbc) : bean;
      }
    };
  }

  /** The database's sessions, this instance's memory while the database is away. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static final class Tolerant implements SessionRepository<Session>, org.springframework.beans.factory.DisposableBean {
    private final JdbcIndexedSessionRepository jdbc;
    private final SessionRepository db;
    private final MapSessionRepository local = new MapSessionRepository(new ConcurrentHashMap<>());
    private final Thread cleanup;
    /** After a failure, the database is not asked again for this long (each try waits for a connection, 2 s). */
    private static final long SKIP_MILLIS = 5000;

    private volatile long skipUntil;

    Tolerant(JdbcIndexedSessionRepository jdbc) {
      this.jdbc = jdbc;
      this.db = jdbc;
      this.cleanup = new Thread(this::cleanUp, "session-cleanup");
      cleanup.setDaemon(true);
      cleanup.start();
    }

    @Override
    public Session createSession() {
      return jdbc.createSession(); // in memory until saved
    }

    @Override
    public void save(Session session) {
      if (session instanceof MapSession kept) {
        local.save(kept); // made while the database was away: stays on this instance until it expires
        return;
      }
      if (away()) {
        local.save(new MapSession(session));
        return;
      }
      try {
        db.save(session);
      } catch (RuntimeException e) {
        failed(e);
        local.save(new MapSession(session));
      }
    }

    @Override
    public Session findById(String id) {
      Session kept = local.findById(id);
      if (kept != null || away()) {
        return kept;
      }
      try {
        return (Session) db.findById(id);
      } catch (RuntimeException e) {
        failed(e);
        return null;
      }
    }

    @Override
    public void deleteById(String id) {
      local.deleteById(id);
      if (away()) {
        return;
      }
      try {
        jdbc.deleteById(id);
      } catch (RuntimeException e) {
        failed(e);
      }
    }

    private boolean away() {
      return System.currentTimeMillis() < skipUntil;
    }

    /** A database failure: remembered (and the database left alone for a while); anything else is thrown. */
    private void failed(RuntimeException e) {
      if (!DatabaseOutage.isCause(e)) {
        throw e;
      }
      DatabaseOutage.noted(e);
      skipUntil = System.currentTimeMillis() + SKIP_MILLIS;
    }

    private void cleanUp() {
      while (!Thread.currentThread().isInterrupted()) {
        try {
          Thread.sleep(60_000);
          jdbc.cleanUpExpiredSessions();
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          if (DatabaseOutage.isCause(e)) {
            DatabaseOutage.noted(e);
          } else {
            org.slf4j.LoggerFactory.getLogger(SharedSessions.class).warn("session cleanup failed: {}", e.toString());
          }
        }
      }
    }

    @Override
    public void destroy() {
      cleanup.interrupt();
    }
  }
}
