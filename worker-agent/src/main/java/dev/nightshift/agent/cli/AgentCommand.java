package dev.nightshift.agent.cli;

import dev.nightshift.agent.client.HttpAgentClient;
import dev.nightshift.agent.client.TrustedCa;
import dev.nightshift.agent.config.AgentSettings;
import dev.nightshift.agent.config.DataDir;
import dev.nightshift.agent.config.Defaults;
import dev.nightshift.agent.config.SettingsException;
import dev.nightshift.agent.config.SettingsResolver;
import dev.nightshift.agent.identity.Enrollment;
import dev.nightshift.agent.identity.Identity;
import dev.nightshift.agent.identity.IdentityStore;
import dev.nightshift.agent.idle.IdlePolicies;
import dev.nightshift.agent.idle.IdlePolicy;
import dev.nightshift.agent.idle.OwnerPause;
import dev.nightshift.agent.identity.AgentInstance;
import dev.nightshift.agent.lock.InstanceLock;
import dev.nightshift.agent.loop.AgentLoop;
import dev.nightshift.agent.loop.LoopConfig;
import dev.nightshift.agent.runner.Confinement;
import dev.nightshift.agent.runner.RunnerConfig;
import dev.nightshift.agent.runner.ScriptRunner;
import dev.nightshift.agent.spool.Spool;
import dev.nightshift.agent.system.AgentVersion;
import dev.nightshift.agent.system.HostFactsProbe;
import dev.nightshift.agent.sync.Checkouts;
import dev.nightshift.agent.sync.CodeRepository;
import dev.nightshift.agent.sync.GitWorkspace;
import dev.nightshift.agent.sync.Prefetcher;
import dev.nightshift.agent.trust.ReleaseVerifier;
import dev.nightshift.agent.system.AtomicFiles;
import dev.nightshift.agent.system.Logging;
import dev.nightshift.protocol.AgentPaths;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * What {@code run} and {@code once} share: resolve settings, take the data directory's lock, check there is a
 * server and an identity or an enrollment token, then build the loop.
 */
abstract class AgentCommand implements Callable<Integer> {
  static final int EXIT_OK = 0;
  static final int EXIT_FAILED = 1;
  static final int EXIT_USAGE = 2;
  private static final Logger LOG = Logger.getLogger(AgentCommand.class.getName());

  @Mixin AgentOptions options;
  @Spec CommandSpec spec;
  final CliEnvironment environment;

  AgentCommand(CliEnvironment environment) {
    this.environment = environment;
  }

  /** Runs the loop in this command's mode and returns the exit status. */
  abstract int execute(AgentLoop loop);

  /** The loop settings of this mode. */
  abstract LoopConfig loopConfig(AgentSettings settings);

  /** The idle policy of this mode when none is configured. */
  abstract String defaultIdlePolicy();

  /** Whether this mode follows the agent updates heartbeat replies offer, when a launcher started it. */
  boolean followsUpdates() {
    return false;
  }

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    AgentSettings settings;
    try {
      settings =
          new SettingsResolver(environment.env(), environment.userHome(), environment.hostname())
              .resolve(options.flags(), options.config, options.verbose);
      if (settings.caFile() != null) {
        TrustedCa.load(settings.caFile()); // a bad CA file stops the agent now, with the reason
      }
    } catch (SettingsException e) {
      return usageError(err, e.getMessage());
    } catch (IllegalArgumentException e) {
      return usageError(err, e.getMessage());
    }
    if (settings.idlePolicy() == null) {
      settings = settings.withIdle(settings.idle().withPolicy(defaultIdlePolicy()));
    }
    DataDir data = settings.layout();
    Logging.toConsole(settings.verbose());

    InstanceLock.Attempt attempt;
    try {
      Files.createDirectories(data.root());
      AtomicFiles.restrictDirToOwner(data.root()); // identity, logs, spool, code: its OS user only
      attempt = InstanceLock.tryAcquire(data.lockFile(), data.pidFile());
    } catch (IOException | RuntimeException e) {
      return usageError(err, "cannot use data dir " + data.root() + ": " + e.getMessage());
    }
    if (!attempt.acquired()) {
      out.println(attempt.refusal(data.root()));
      out.flush();
      return EXIT_OK;
    }
    try (InstanceLock lock = attempt.lock()) {
      Confinement confinement;
      try {
        confinement = Confinement.open(settings.confinement(), data.root(), System.getProperty("os.name"));
      } catch (Confinement.ConfinementException e) {
        return usageError(err, e.getMessage());
      }
      if (settings.confinement().any()) {
        LOG.info("scripts run confined: " + confinement);
      }
      IdentityStore store = new IdentityStore(data.identityFile());
      Identity identity;
      try {
        identity = store.load().orElse(null);
      } catch (RuntimeException e) {
        return usageError(err, e.getMessage());
      }
      URI server = settings.server();
      if (server == null && identity != null && identity.server() != null) {
        server = URI.create(identity.server());
      }
      if (server == null) {
        return usageError(err, "no server: pass --server URL (or NIGHTSHIFT_SERVER)");
      }
      if (!settings.allowInsecureHttp() && !secureEnough(server)) {
        return usageError(err, "refusing plain http:// to " + server.getHost() + ", which is not this machine:"
            + " the agent token, the code it runs and its results would cross the network unencrypted and could be"
            + " changed on the way. Use https:// (see docs/security.md#tls), or pass --allow-insecure-http"
            + " (NIGHTSHIFT_ALLOW_INSECURE_HTTP=true) on a network you trust");
      }
      if (identity != null && identity.server() != null && !sameServer(identity.server(), server)) {
        if (settings.enrollmentToken() == null) {
          return usageError(err, "the identity in " + store.file() + " belongs to " + identity.server()
              + ": to use " + server + " pass --enrollment-token T (or NIGHTSHIFT_ENROLLMENT_TOKEN) to enroll there");
        }
        LOG.info("server changed from " + identity.server() + " to " + server + ": enrolling there");
        identity = null;
      }
      if (identity == null && settings.enrollmentToken() == null) {
        return usageError(err, "not enrolled: pass --enrollment-token T (or NIGHTSHIFT_ENROLLMENT_TOKEN)");
      }
      if (!settings.trust().allowUnsigned() && settings.trust().keys().isEmpty()) {
        // it would refuse every batch, and each refusal buries a batch for good: better not to start
        return usageError(err, "no trusted release keys: pass --trusted-key KEY (the Ed25519 public key releases are"
            + " signed with, 'ssh-ed25519 AAAA... comment' or a file of them; NIGHTSHIFT_TRUSTED_KEYS, file key"
            + " 'trusted-keys'; see docs/security.md#signed-releases), or --allow-unsigned to run whatever the server"
            + " hands out (a trial on one machine)");
      }
      settings = settings.withServer(server);
      Logging.toFile(data.logsDir(), settings.verbose());
      LOG.info("nightshift-agent " + AgentVersion.current() + " starting: " + settings);
      if (settings.trust().allowUnsigned()) {
        LOG.warning("*** --allow-unsigned: this agent runs UNSIGNED code and raw shell commands from " + server
            + "; whoever controls that server (or can pose as it) runs anything here as " + System.getProperty(
                "user.name") + ". Trust release keys instead (--trusted-key, docs/security.md#signed-releases) ***");
      } else {
        LOG.info("runs only releases signed by: " + settings.trust().keys());
      }
      IdlePolicy idlePolicy =
          IdlePolicies.create(
              settings.idle(), new OwnerPause(data.pauseFile()), Clock.systemDefaultZone(),
              System.getProperty("os.name"), environment.env());
      return execute(buildLoop(settings, data, store, identity, idlePolicy, confinement));
    }
  }

  private AgentLoop buildLoop(
      AgentSettings s, DataDir data, IdentityStore store, Identity identity, IdlePolicy idlePolicy,
      Confinement confinement) {
    Enrollment enrollment =
        new Enrollment(
            store, identity, s.server().toString(), s.enrollmentToken(), s.name(), s.slots(), s.labels(),
            () -> HostFactsProbe.probe(environment.env()));
    TrustedCa trustedCa = s.caFile() == null ? null : TrustedCa.load(s.caFile());
    HttpAgentClient client =
        new HttpAgentClient(
            s.server(), enrollment::token, AgentVersion.current(), Defaults.CONNECT_TIMEOUT,
            Defaults.REQUEST_TIMEOUT, Defaults.CLAIM_TIMEOUT_MARGIN, trustedCa,
            AgentInstance.start(data.instanceFile()));
    Clock clock = Clock.systemUTC();
    RunnerConfig runnerConfig =
        new RunnerConfig(
            data.runsDir(), data.attemptLogsDir(), s.maxOutputBytes(), s.logTailBytes(),
            RunnerConfig.platformShell(System.getProperty("os.name")), environment.env(), confinement);
    CodeRepository code =
        new CodeRepository(
            data.codeRepository(), gitRepository(s.server()), enrollment::token, Defaults.GIT_TIMEOUT, trustedCa);
    Checkouts checkouts = new Checkouts(code, data.checkoutsDir(), s.codeCache(), clock);
    ScriptRunner runner =
        new ScriptRunner(
            runnerConfig,
            new GitWorkspace(checkouts, GitWorkspace.DEFAULT_RETRY,
                new ReleaseVerifier(s.trust().keys(), s.trust().allowUnsigned())),
            clock);
    if (s.dataSource() != null) {
      runner.useReferenceData(new dev.nightshift.agent.data.ReferenceData(s.dataSource(), clock).start());
    }
    AgentLoop loop =
        new AgentLoop(
            new AgentLoop.Parts(
                client, enrollment, runner, new Spool(data.spoolDir()), idlePolicy, new Prefetcher(checkouts)),
            loopConfig(s), clock, new SecureRandom());
    loop.writeStatusTo(data.statusFile());
    String launcherDir = environment.env().get(dev.nightshift.agent.update.LauncherDir.ENV);
    if (followsUpdates() && launcherDir != null && !launcherDir.isBlank()) {
      loop.useSelfUpdate(
          new dev.nightshift.agent.update.SelfUpdate(
              new dev.nightshift.agent.update.LauncherDir(java.nio.file.Path.of(launcherDir)), s.server(),
              AgentVersion.current(), trustedCa));
    }
    loop.restore();
    return loop;
  }

  /** The server's Git repository: {@code <server>/git/code.git}. */
  static String gitRepository(URI server) {
    return strip(server.toString()) + AgentPaths.GIT_REPOSITORY;
  }

  /** Installs the graceful-stop hook; returns it so it can be removed when the mode ends by itself. */
  Optional<Thread> onShutdown(AgentLoop loop) {
    if (!environment.installShutdownHooks()) {
      return Optional.empty();
    }
    Thread hook =
        new Thread(
            () -> {
              loop.shutdown();
              Logging.close();
            },
            "nightshift-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    return Optional.of(hook);
  }

  static void removeHook(Optional<Thread> hook) {
    hook.ifPresent(
        h -> {
          try {
            Runtime.getRuntime().removeShutdownHook(h);
          } catch (IllegalStateException e) {
            // already shutting down: the hook is running
          }
        });
  }

  /** https://, or http:// to this machine (a loopback name or address, resolved without DNS). */
  static boolean secureEnough(URI server) {
    if (!"http".equalsIgnoreCase(server.getScheme())) {
      return true;
    }
    String host = server.getHost();
    if (host == null) {
      return false;
    }
    host = host.toLowerCase(java.util.Locale.ROOT);
    if (host.equals("localhost") || host.endsWith(".localhost")) {
      return true;
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    boolean literal = host.matches("[0-9.]+") || host.contains(":");
    try {
      return literal && java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static boolean sameServer(String a, URI b) {
    return strip(a).equalsIgnoreCase(strip(b.toString()));
  }

  private static String strip(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private int usageError(PrintWriter err, String message) {
    err.println("nightshift-agent: " + message);
    err.println("Try 'nightshift-agent " + spec.name() + " --help' for more information.");
    err.flush();
    return EXIT_USAGE;
  }
}
