package dev.nightshift.server.code;

import dev.nightshift.server.system.NightshiftProperties;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.eclipse.jgit.http.server.GitSmartHttpTools;
import org.eclipse.jgit.transport.ServiceMayNotContinueException;
import org.eclipse.jgit.errors.RepositoryNotFoundException;
import org.eclipse.jgit.http.server.GitServlet;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.ReceivePack;
import org.eclipse.jgit.transport.UploadPack;
import org.eclipse.jgit.transport.resolver.ServiceNotAuthorizedException;
import org.eclipse.jgit.transport.resolver.ServiceNotEnabledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

/**
 * Serves the code repository over Git smart HTTP at {@code /git/code.git} (JGit's GitServlet): any stock git client
 * clones, fetches and pushes. Who may do what is decided by the security chain for {@code /git/**} (push: ADMIN;
 * fetch: any user or agent); the servlet checks pushes again and guards the worker branch.
 */
@Configuration(proxyBeanMethods = false)
class GitHttpConfig {
  private static final Logger log = LoggerFactory.getLogger(GitHttpConfig.class);

  @Bean
  ServletRegistrationBean<GitServlet> gitServlet(
      CodeRepository code, CodeSync sync, GitTraffic traffic, NightshiftProperties properties) {
    String upstream = properties.code().upstream();
    GitServlet servlet = new GitServlet();
    servlet.setRepositoryResolver(
        (HttpServletRequest request, String name) -> {
          if (!"code.git".equals(name)) {
            throw new RepositoryNotFoundException(name + " (the repository is /git/code.git)");
          }
          code.catchUp(); // the instance that served the ref advertisement may have been another one
          Repository repository = code.repository();
          repository.incrementOpen();
          return repository;
        });
    servlet.setUploadPackFactory(
        (request, repository) -> {
          UploadPack pack = new UploadPack(repository);
          pack.setRequestPolicy(UploadPack.RequestPolicy.REACHABLE_COMMIT);
          pack.setPostUploadHook(stats -> traffic.served(stats.getTotalBytes()));
          return pack;
        });
    servlet.setReceivePackFactory(
        (request, repository) -> {
          if (!isAdmin()) {
            throw new ServiceNotAuthorizedException();
          }
          if (upstream != null && !upstream.isBlank()) {
            throw new ServiceNotEnabledException(
                "this server mirrors " + UpstreamMirror.masked(upstream)
                    + ": push there, and promote from the mirrored branches");
          }
          ReceivePack pack = new ReceivePack(repository);
          pack.setAllowNonFastForwards(true);
          pack.setPreReceiveHook(
              (receive, commands) -> {
                for (ReceiveCommand command : commands) {
                  if (command.getRefName().equals(CodeRepository.WORKER_REF)) {
                    command.setResult(
                        ReceiveCommand.Result.REJECTED_OTHER_REASON,
                        "the worker branch moves only by promotion: POST /api/v1/code/promotions");
                  }
                }
                sync.accept(commands); // shared with every instance before it counts here
              });
          pack.setPostReceiveHook(
              (receive, commands) ->
                  commands.forEach(
                      c ->
                          log.info(
                              "push by {}: {} {} -> {}",
                              user(),
                              c.getRefName(),
                              c.getOldId().abbreviate(7).name(),
                              c.getNewId().abbreviate(7).name())));
          return pack;
        });
    servlet.setUploadPackErrorHandler((request, response, upload) -> refuseGarbage(request, response, upload::upload));
    servlet.setReceivePackErrorHandler(
        (request, response, receive) -> refuseGarbage(request, response, receive::receive));
    servlet.setAsIsFileService(org.eclipse.jgit.http.server.resolver.AsIsFileService.DISABLED); // no dumb HTTP
    ServletRegistrationBean<GitServlet> registration = new ServletRegistrationBean<>(servlet, "/git/*");
    registration.setName("git");
    registration.setLoadOnStartup(1);
    return registration;
  }

  /**
   * Git's dumb HTTP protocol off: only the smart protocol's three requests reach JGit; every other path under
   * {@code /git/} ({@code HEAD}, {@code info/refs} without a service, {@code objects/info/packs}, loose objects,
   * pack files) is 404, so nobody can download objects that no branch reaches (deleted files, rewritten history).
   * Runs after the security chain: whoever is not allowed to fetch is refused first.
   */
  @Bean
  org.springframework.boot.web.servlet.FilterRegistrationBean<jakarta.servlet.Filter> gitSmartOnly(
      tools.jackson.databind.json.JsonMapper json) {
    jakarta.servlet.Filter filter =
        (req, res, chain) -> {
          HttpServletRequest request = (HttpServletRequest) req;
          if (isSmart(request)) {
            chain.doFilter(req, res);
            return;
          }
          dev.nightshift.server.system.Problems.write(
              json,
              (HttpServletResponse) res,
              dev.nightshift.server.system.Problems.of(
                  org.springframework.http.HttpStatus.NOT_FOUND,
                  "Not found: this server speaks Git's smart HTTP protocol only (the dumb protocol is off); use a"
                      + " git client."));
        };
    var registration = new org.springframework.boot.web.servlet.FilterRegistrationBean<>(filter);
    registration.addUrlPatterns("/git/*");
    registration.setName("gitSmartOnly");
    return registration;
  }

  /** The smart protocol's requests: the ref advertisement of a service, and the two services. */
  static boolean isSmart(HttpServletRequest request) {
    String uri = request.getRequestURI();
    String method = request.getMethod();
    if ("GET".equals(method) && uri.endsWith("/info/refs")) {
      String service = request.getParameter("service");
      return "git-upload-pack".equals(service) || "git-receive-pack".equals(service);
    }
    return "POST".equals(method) && (uri.endsWith("/git-upload-pack") || uri.endsWith("/git-receive-pack"));
  }

  /** A fetch or push, run by JGit. */
  private interface GitService {
    void run() throws IOException;
  }

  /**
   * Runs a fetch or push. A request body that is not the Git protocol (JGit fails reading it with an IOException)
   * is the client's error: 400 with JGit's reason, in Git's own error format (what a git client shows its user);
   * only other failures are 500. Replaces JGit's handler, which answers 500 to a garbage body.
   */
  private static void refuseGarbage(HttpServletRequest request, HttpServletResponse response, GitService service)
      throws IOException {
    try {
      service.run();
    } catch (ServiceMayNotContinueException e) {
      if (!e.isOutput() && !response.isCommitted()) {
        response.reset();
        GitSmartHttpTools.sendError(request, response, e.getStatusCode(), e.getMessage());
      }
    } catch (IOException e) {
      // one line, no stack trace: e.g. a want of an object no ref reaches ("want … not valid"), or a body that is
      // not the Git protocol
      log.warn("refused a Git request from {}: {}", request.getRemoteAddr(),
          dev.nightshift.server.system.Text.printable(e.getMessage()));
      if (!response.isCommitted()) {
        response.reset();
        GitSmartHttpTools.sendError(
            request,
            response,
            HttpServletResponse.SC_BAD_REQUEST,
            "not a valid Git request (" + e.getMessage() + "): use a git client");
      }
    } catch (RuntimeException e) {
      log.error("Git request failed", e);
      if (!response.isCommitted()) {
        response.reset();
        GitSmartHttpTools.sendError(request, response, HttpServletResponse.SC_INTERNAL_SERVER_ERROR, null);
      }
    }
  }

  private static boolean isAdmin() {
    Authentication auth = SecurityContextHolder.getContext().getAuthentication();
    return auth != null && auth.getAuthorities().stream().anyMatch(a -> a.getAuthority().equals("ROLE_ADMIN"));
  }

  private static String user() {
    Authentication auth = SecurityContextHolder.getContext().getAuthentication();
    return auth == null ? "?" : auth.getName();
  }
}
