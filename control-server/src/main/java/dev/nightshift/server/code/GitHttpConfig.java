package dev.nightshift.server.code;

import dev.nightshift.server.system.NightshiftProperties;
import jakarta.servlet.http.HttpServletRequest;
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
      CodeRepository code, GitTraffic traffic, NightshiftProperties properties) {
    String upstream = properties.code().upstream();
    GitServlet servlet = new GitServlet();
    servlet.setRepositoryResolver(
        (HttpServletRequest request, String name) -> {
          if (!"code.git".equals(name)) {
            throw new RepositoryNotFoundException(name + " (the repository is /git/code.git)");
          }
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
                "this server mirrors " + upstream + ": push there, and promote from the mirrored branches");
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
    ServletRegistrationBean<GitServlet> registration = new ServletRegistrationBean<>(servlet, "/git/*");
    registration.setName("git");
    registration.setLoadOnStartup(1);
    return registration;
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
