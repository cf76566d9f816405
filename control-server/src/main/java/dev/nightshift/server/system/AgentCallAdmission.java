package dev.nightshift.server.system;

import dev.nightshift.protocol.AgentPaths;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Spreads a crowd of agents calling at the same instant (the whole fleet after a server restart, a network cut or
 * a promotion): at most {@code nightshift.limits.agent-calls} agent calls are carried out at once, and a call
 * beyond that is answered at once with 503 and a random {@code Retry-After} of 1-10 s, before its token is looked
 * up. Without this, thousands of calls queue for the 20 database connections, wait up to the pool's 2 s, and fail
 * with 503 anyway after holding a servlet thread; the calls that do get through then take seconds each.
 *
 * <p>A claim parked waiting for work gives its permit back as soon as it is parked (its servlet thread leaves this
 * filter), so parked claims never count. Agents honour {@code Retry-After} on every call and keep their spooled
 * results, so nothing is lost: a shed call is simply made again a few seconds later, each agent at its own time.
 * Enrollment is not limited (it is rare and operators watch it).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 6)
class AgentCallAdmission extends OncePerRequestFilter {
  private static final Logger log = LoggerFactory.getLogger(AgentCallAdmission.class);
  static final int MIN_RETRY_SECONDS = 1;
  static final int MAX_RETRY_SECONDS = 10;
  private static final long LOG_EVERY_NANOS = 10_000_000_000L;

  private final JsonMapper json;
  private final Semaphore permits;
  private final int limit;
  private final AtomicLong shed = new AtomicLong();
  private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);
  private final AtomicLong unlogged = new AtomicLong();

  AgentCallAdmission(JsonMapper json, NightshiftProperties properties) {
    this.json = json;
    this.limit = Math.max(1, properties.limits().agentCalls());
    this.permits = new Semaphore(limit);
  }

  @Override
  protected boolean shouldNotFilter(HttpServletRequest request) {
    String uri = request.getRequestURI();
    return !uri.startsWith(AgentPaths.PREFIX + "/") || uri.equals(AgentPaths.REGISTER);
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if (!permits.tryAcquire()) {
      shed(response);
      return;
    }
    try {
      chain.doFilter(request, response);
    } finally {
      permits.release();
    }
  }

  private void shed(HttpServletResponse response) throws IOException {
    shed.incrementAndGet();
    noted();
    int retryAfter = ThreadLocalRandom.current().nextInt(MIN_RETRY_SECONDS, MAX_RETRY_SECONDS + 1);
    ProblemDetail body =
        ProblemDetail.forStatusAndDetail(
            HttpStatus.SERVICE_UNAVAILABLE,
            "The server is carrying out " + limit + " agent calls already (many agents called at once), so this"
                + " call was not carried out. Try again in " + retryAfter + " s (Retry-After); agents do so by"
                + " themselves and keep their results meanwhile.");
    body.setTitle("Server busy");
    response.setStatus(HttpStatus.SERVICE_UNAVAILABLE.value());
    response.setHeader("Retry-After", String.valueOf(retryAfter));
    response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
    json.writeValue(response.getOutputStream(), body);
  }

  /** One log line per 10 s at most, with the count since: a crowd of agents must not flood the log. */
  private void noted() {
    long now = System.nanoTime();
    long last = lastLogged.get();
    if (now - last >= LOG_EVERY_NANOS && lastLogged.compareAndSet(last, now)) {
      long more = unlogged.getAndSet(0);
      log.info(
          "{} agent calls at once: answering further calls 503 with Retry-After{}",
          limit, more > 0 ? " (" + more + " answered so since the last message)" : "");
    } else {
      unlogged.incrementAndGet();
    }
  }

  /** Calls answered 503 since start (tests, diagnostics). */
  long shedCount() {
    return shed.get();
  }
}
