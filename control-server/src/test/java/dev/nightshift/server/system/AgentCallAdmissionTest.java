package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.AgentPaths;
import jakarta.servlet.FilterChain;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

/**
 * The admission limit on agent calls, driven through the filter with servlet test doubles (the limit is about
 * calls in flight at one instant, which a test over HTTP could not hold still). Tried: a call beyond the limit
 * (503 problem+json, Retry-After 1-10 s, the chain never called), calls that are not agent calls (enrollment, the
 * API, Git: never limited), the permit given back when the chain throws.
 */
class AgentCallAdmissionTest {
  private final JsonMapper json = JsonMapper.builder().build();

  private AgentCallAdmission admission(int limit) {
    NightshiftProperties properties =
        new Binder(new MapConfigurationPropertySource(java.util.Map.of("nightshift.limits.agent-calls", limit)))
            .bindOrCreate("nightshift", Bindable.of(NightshiftProperties.class));
    return new AgentCallAdmission(json, properties);
  }

  private static MockHttpServletRequest post(String path) {
    MockHttpServletRequest request = new MockHttpServletRequest("POST", path);
    request.setRequestURI(path);
    return request;
  }

  @Test
  void aCallBeyondTheLimitIsAnsweredAtOnceWithRetryAfterAndNeverReachesTheServer() throws Exception {
    AgentCallAdmission admission = admission(2);
    CountDownLatch inside = new CountDownLatch(2);
    CountDownLatch release = new CountDownLatch(1);
    FilterChain slow =
        (req, res) -> {
          inside.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ((jakarta.servlet.http.HttpServletResponse) res).setStatus(200);
        };
    CompletableFuture<?> a =
        CompletableFuture.runAsync(() -> run(admission, post(AgentPaths.HEARTBEAT), slow));
    CompletableFuture<?> b = CompletableFuture.runAsync(() -> run(admission, post(AgentPaths.CLAIM), slow));
    assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();

    boolean[] reached = {false};
    MockHttpServletResponse third = new MockHttpServletResponse();
    admission.doFilter(post(AgentPaths.COMPLETE), third, (req, res) -> reached[0] = true);
    assertThat(reached[0]).as("the third call reached the server").isFalse();
    assertThat(third.getStatus()).isEqualTo(503);
    assertThat(third.getContentType()).isEqualTo("application/problem+json");
    assertThat(Integer.parseInt(third.getHeader("Retry-After"))).isBetween(1, 10);
    assertThat(third.getContentAsString()).contains("\"title\":\"Server busy\"").contains("Try again in");
    assertThat(admission.shedCount()).isEqualTo(1);

    // Enrollment, the admin API and Git are never limited.
    for (String path : new String[] {AgentPaths.REGISTER, "/api/v1/jobs", AgentPaths.GIT_REPOSITORY + "/info/refs"}) {
      MockHttpServletResponse other = new MockHttpServletResponse();
      admission.doFilter(post(path), other, (req, res) -> ((jakarta.servlet.http.HttpServletResponse) res).setStatus(204));
      assertThat(other.getStatus()).as(path).isEqualTo(204);
    }

    release.countDown();
    CompletableFuture.allOf(a, b).get(10, TimeUnit.SECONDS);
    MockHttpServletResponse after = new MockHttpServletResponse();
    admission.doFilter(post(AgentPaths.COMPLETE), after, (req, res) -> ((jakarta.servlet.http.HttpServletResponse) res).setStatus(200));
    assertThat(after.getStatus()).as("permits given back").isEqualTo(200);
  }

  @Test
  void aCallThatFailsGivesItsPermitBack() throws Exception {
    AgentCallAdmission admission = admission(1);
    for (int i = 0; i < 3; i++) {
      try {
        admission.doFilter(
            post(AgentPaths.CLAIM),
            new MockHttpServletResponse(),
            (req, res) -> {
              throw new IllegalStateException("handler failed");
            });
      } catch (IllegalStateException expected) {
        // the failure goes on to the error handling outside
      }
    }
    MockHttpServletResponse ok = new MockHttpServletResponse();
    admission.doFilter(post(AgentPaths.CLAIM), ok, (req, res) -> ((jakarta.servlet.http.HttpServletResponse) res).setStatus(200));
    assertThat(ok.getStatus()).isEqualTo(200);
    assertThat(admission.shedCount()).isZero();
  }

  private static void run(AgentCallAdmission admission, MockHttpServletRequest request, FilterChain chain) {
    try {
      admission.doFilter(request, new MockHttpServletResponse(), chain);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }
}
