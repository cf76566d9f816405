package dev.nightshift.agent.runner;

import dev.nightshift.agent.system.AtomicFiles;
import dev.nightshift.agent.system.DaemonThreads;
import dev.nightshift.protocol.AttemptOutcome;
import dev.nightshift.protocol.Lease;
import dev.nightshift.protocol.ScriptEnv;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One run of one lease: the command through the platform shell in the lease's workspace, the items as NDJSON on
 * stdin, stdout streamed to a file, stderr kept as a bounded tail plus a per-attempt log file, the timeout enforced
 * by killing the whole process tree.
 */
public final class ScriptRun {
  private static final Logger LOG = Logger.getLogger(ScriptRun.class.getName());
  /** How often the waiting thread checks the output size and notes the process tree. */
  private static final long POLL_MILLIS = 200;
  /** Environment variables of the agent itself that a script must never see. */
  private static final String AGENT_ENV_PREFIX = "NIGHTSHIFT_";
  private static final java.nio.file.attribute.FileAttribute<?>[] OWNER_ONLY =
      java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
          ? new java.nio.file.attribute.FileAttribute<?>[] {
              java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                  java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"))}
          : new java.nio.file.attribute.FileAttribute<?>[0];

  private final Lease lease;
  private final RunnerConfig config;
  private final WorkspaceProvider workspaces;
  private final Clock clock;
  private final Set<ProcessHandle> seen = new HashSet<>();
  private Process process;
  private String cancelReason;
  private String vacateReason;
  private boolean suspended;
  private long suspendedSinceNanos;
  private Instant suspendedSince;
  private long suspendedTotalNanos;

  private final dev.nightshift.agent.data.ReferenceData referenceData; // null: no data source
  private volatile dev.nightshift.protocol.DataState dataAtStart;
  private volatile Path scratch; // this attempt's scratch directory while it runs

  ScriptRun(Lease lease, RunnerConfig config, WorkspaceProvider workspaces, Clock clock) {
    this(lease, config, workspaces, clock, null);
  }

  ScriptRun(
      Lease lease, RunnerConfig config, WorkspaceProvider workspaces, Clock clock,
      dev.nightshift.agent.data.ReferenceData referenceData) {
    this.referenceData = referenceData;
    this.lease = lease;
    this.config = config;
    this.workspaces = workspaces;
    this.clock = clock;
  }

  public Lease lease() {
    return lease;
  }

  /** The running process, once started. */
  public synchronized Optional<ProcessHandle> process() {
    return Optional.ofNullable(process).map(Process::toHandle);
  }

  /** Stops the run: kills the process tree; {@link #run()} then returns CANCELLED with {@code reason}. */
  public void cancel(String reason) {
    Process p;
    Set<ProcessHandle> alsoSeen;
    synchronized (this) {
      if (cancelReason != null) {
        return;
      }
      cancelReason = reason;
      p = process;
      alsoSeen = Set.copyOf(seen);
    }
    if (p != null) {
      ProcessTree.kill(p.toHandle(), alsoSeen);
    }
  }

  private synchronized String cancelReason() {
    return cancelReason;
  }

  /**
   * Suspends the whole process tree (the owner is back); the timeout does not count suspended time. False when
   * there is nothing to suspend: not started yet, already ended, already suspended, or being stopped.
   */
  public synchronized boolean suspend() {
    if (process == null || !process.isAlive() || suspended || cancelReason != null) {
      return false;
    }
    ProcessTree.suspend(process.toHandle());
    suspended = true;
    suspendedSinceNanos = System.nanoTime();
    suspendedSince = clock.instant();
    return true;
  }

  /** Continues a suspended process tree; false when it was not suspended. */
  public synchronized boolean resume() {
    if (!suspended) {
      return false;
    }
    if (process != null) {
      ProcessTree.resume(process.toHandle());
    }
    suspendedTotalNanos += System.nanoTime() - suspendedSinceNanos;
    suspended = false;
    return true;
  }

  public synchronized boolean isSuspended() {
    return suspended;
  }

  /** How long the tree has been suspended this time, by the injected clock; zero when running. */
  public synchronized java.time.Duration suspendedFor() {
    return suspended ? java.time.Duration.between(suspendedSince, clock.instant()) : java.time.Duration.ZERO;
  }

  /** Suspended time so far, this stretch included. */
  private synchronized long suspendedNanos() {
    return suspendedTotalNanos + (suspended ? System.nanoTime() - suspendedSinceNanos : 0);
  }

  /**
   * Kills the tree because the machine stopped being idle for too long; {@link #run()} then returns VACATED, which
   * the server requeues at once without counting an attempt.
   */
  public void vacate(String reason) {
    synchronized (this) {
      if (cancelReason != null) {
        return;
      }
      vacateReason = reason;
    }
    cancel(reason);
  }

  private synchronized String vacateReason() {
    return vacateReason;
  }

  /** The file name stem of this attempt: {@code <batchId>-<attempt>}. */
  public String attemptName() {
    return lease.batchId() + "-" + lease.attempt();
  }

  /** Runs the command and waits for it; never throws for anything the script does. */
  public RunResult run() {
    Path out = config.runsDir().resolve(attemptName() + ".out");
    Path log = config.attemptLogsDir().resolve(attemptName() + ".log");
    TailBuffer tail = new TailBuffer(config.logTailBytes());
    Instant started = clock.instant();
    Workspace workspace;
    try {
      Files.createDirectories(config.runsDir());
      Files.createDirectories(config.attemptLogsDir());
      Files.deleteIfExists(out);
      Files.createFile(out, OWNER_ONLY); // another batch's script (same script user) must not read it
      workspace = workspaces.workspaceFor(lease);
    } catch (WorkspaceException e) {
      String text = e.log().endsWith("\n") ? e.log() : e.log() + "\n";
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      tail.write(bytes, 0, bytes.length);
      writeQuietly(log, bytes);
      LOG.warning("batch " + attemptName() + ": " + e.getMessage());
      return result(AttemptOutcome.FAILED, null, started, e.getMessage(), tail, out);
    } catch (IOException | RuntimeException e) {
      return result(AttemptOutcome.FAILED, null, started, "cannot prepare the workspace: " + e, tail, out);
    }
    Path scratch = config.runsDir().resolve(attemptName() + ".scratch");
    try (workspace) {
      AtomicFiles.deleteTree(scratch); // left by an earlier run of this attempt
      Files.createDirectories(scratch);
      AtomicFiles.restrictDirToOwner(scratch);
      this.scratch = scratch;
      Confinement.Attempt confined;
      try {
        confined = config.confinement().begin(attemptName(), workspace.dir(), scratch);
      } catch (IOException | RuntimeException e) {
        return result(AttemptOutcome.FAILED, null, started, "cannot confine the script (" + config.confinement()
            + "): " + e, tail, out);
      }
      try (confined) {
        return runIn(workspace.dir(), out, log, tail, started, confined);
      }
    } catch (IOException e) {
      return result(AttemptOutcome.FAILED, null, started, "cannot make the scratch directory " + scratch + ": " + e,
          tail, out);
    } finally {
      AtomicFiles.deleteTreeQuietly(scratch);
    }
  }

  private RunResult runIn(
      Path dir, Path out, Path log, TailBuffer tail, Instant started, Confinement.Attempt confined) {
    List<String> commandLine = new ArrayList<>(confined.prefix());
    commandLine.addAll(config.shell());
    commandLine.add(lease.command());
    ProcessBuilder pb =
        new ProcessBuilder(commandLine)
            .directory(dir.toFile())
            .redirectOutput(ProcessBuilder.Redirect.to(out.toFile()))
            .redirectError(ProcessBuilder.Redirect.PIPE)
            .redirectInput(ProcessBuilder.Redirect.PIPE);
    environment(pb.environment());

    Process p;
    synchronized (this) {
      if (cancelReason != null) {
        return result(AttemptOutcome.CANCELLED, null, started, cancelReason, tail, out);
      }
      Lock forking = ForkLock.starting();
      forking.lock();
      try {
        p = pb.start();
      } catch (IOException | RuntimeException e) {
        return result(
            AttemptOutcome.FAILED, null, started,
            "could not start '" + String.join(" ", config.shell()) + "': " + e.getMessage(), tail, out);
      } finally {
        forking.unlock();
      }
      process = p;
    }
    ProcessTree.lowerPriority(p.toHandle()); // Windows only; Unix scripts run under nice
    started = clock.instant();
    Thread stdin = daemon("stdin-" + attemptName(), () -> feedStdin(p));
    Thread stderr = daemon("stderr-" + attemptName(), () -> drainStderr(p.getErrorStream(), tail, log));
    stdin.start();
    stderr.start();

    boolean timedOut = false;
    boolean tooLarge = false;
    long timeoutNanos = lease.timeoutSeconds() > 0 ? TimeUnit.SECONDS.toNanos(lease.timeoutSeconds()) : Long.MAX_VALUE;
    long startNanos = System.nanoTime();
    try {
      while (true) {
        long remaining = timeoutNanos == Long.MAX_VALUE
            ? Long.MAX_VALUE
            : timeoutNanos - (System.nanoTime() - startNanos - suspendedNanos()); // suspended time does not count
        if (remaining <= 0) {
          timedOut = true;
          break;
        }
        if (p.waitFor(Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS)), TimeUnit.NANOSECONDS)) {
          break;
        }
        noteDescendants(p);
        if (size(out) > config.maxOutputBytes()) {
          tooLarge = true;
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cancel("interrupted");
    }
    Set<ProcessHandle> alsoSeen;
    synchronized (this) {
      alsoSeen = Set.copyOf(seen);
    }
    if (timedOut || tooLarge || p.isAlive()) {
      ProcessTree.kill(p.toHandle(), alsoSeen);
    } else {
      long stragglers = alsoSeen.stream().filter(ProcessHandle::isAlive).count();
      if (stragglers > 0) {
        LOG.warning("batch " + attemptName() + " left " + stragglers + " background process(es) running; killed them");
        alsoSeen.forEach(ProcessHandle::destroyForcibly);
      }
    }
    Integer exit = awaitExit(p);
    join(stderr);

    long outputBytes = size(out);
    String vacated = vacateReason();
    if (vacated != null) {
      return result(AttemptOutcome.VACATED, null, started, "vacated: " + vacated, tail, out);
    }
    String reason = cancelReason();
    if (reason != null) {
      return result(AttemptOutcome.CANCELLED, null, started, reason, tail, out);
    }
    if (timedOut) {
      return result(
          AttemptOutcome.TIMED_OUT, null, started,
          "timed out after " + lease.timeoutSeconds() + " s: process tree killed", tail, out);
    }
    if (tooLarge || outputBytes > config.maxOutputBytes()) {
      return result(
          AttemptOutcome.FAILED, tooLarge ? null : exit, started,
          "result too large: more than " + config.maxOutputBytes() + " bytes on stdout (max-output-bytes)", tail, out);
    }
    if (exit == null) {
      return result(AttemptOutcome.FAILED, null, started, "the process did not end after being killed", tail, out);
    }
    if (exit != 0 && confined.memoryExceeded()) {
      return result(AttemptOutcome.FAILED, exit, started, "exit code " + exit + ": killed for going over its memory"
          + " limit of " + confined.memoryLimit() + " (the agent's --script-memory)", tail, out);
    }
    if (exit != 0) {
      return result(AttemptOutcome.FAILED, exit, started, "exit code " + exit, tail, out);
    }
    return result(AttemptOutcome.SUCCEEDED, 0, started, null, tail, out);
  }

  /** The reference data as it was when the script's environment was built, null without a data source. */
  public dev.nightshift.protocol.DataState dataAtStart() {
    return dataAtStart;
  }

  private void environment(Map<String, String> env) {
    env.clear();
    config.baseEnv().forEach((k, v) -> {
      if (!k.toUpperCase(java.util.Locale.ROOT).startsWith(AGENT_ENV_PREFIX)) {
        env.put(k, v); // the agent's own settings (tokens above all) stay with the agent
      }
    });
    if (lease.env() != null) {
      env.putAll(lease.env());
    }
    if (referenceData != null) {
      dataAtStart = referenceData.current();
      env.putAll(referenceData.scriptEnv(dataAtStart)); // after the job's env: a job spec cannot redirect it
    }
    if (scratch != null) {
      String dir = scratch.toAbsolutePath().toString();
      env.put(ScriptEnv.SCRATCH_DIR, dir);
      env.put("TMPDIR", dir);
      env.put("TMP", dir);
      env.put("TEMP", dir);
      if (config.confinement().user() != null) {
        env.put("HOME", dir); // the script user's own home may not exist (a system user)
        env.put("USER", config.confinement().user());
        env.put("LOGNAME", config.confinement().user());
      }
    }
    env.put(ScriptEnv.JOB_ID, Long.toString(lease.jobId()));
    env.put(ScriptEnv.BATCH_ID, Long.toString(lease.batchId()));
    env.put(ScriptEnv.ATTEMPT, Integer.toString(lease.attempt()));
    putIfNotNull(env, ScriptEnv.COMMIT, lease.commit());
    putIfNotNull(env, ScriptEnv.VERSION, lease.version());
    if (lease.input() != null) {
      env.put(ScriptEnv.ITEM_COUNT, Integer.toString(lease.input().itemCount()));
      if (lease.input().isRange()) {
        env.put(ScriptEnv.RANGE_START, Long.toString(lease.input().rangeStart()));
        putIfNotNull(env, ScriptEnv.RANGE_END, lease.input().rangeEnd() == null ? null : lease.input().rangeEnd().toString());
      }
    }
    env.remove("NIGHTSHIFT_ENROLLMENT_TOKEN");
    env.remove("NIGHTSHIFT_AGENT_TOKEN");
  }

  private static void putIfNotNull(Map<String, String> env, String key, String value) {
    if (value != null) {
      env.put(key, value);
    }
  }

  private void feedStdin(Process p) {
    try (OutputStream in = p.getOutputStream()) {
      if (lease.input() != null && !lease.input().isRange() && lease.input().items() != null) {
        in.write(lease.input().items().getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      LOG.fine(() -> "batch " + attemptName() + ": stdin closed early by the script (" + e.getMessage() + ")");
    }
  }

  private void drainStderr(InputStream err, TailBuffer tail, Path logFile) {
    long cap = config.maxOutputBytes();
    long logged = 0;
    byte[] buf = new byte[8192];
    OutputStream file = null;
    try {
      file = Files.newOutputStream(logFile);
    } catch (IOException e) {
      LOG.warning("cannot write attempt log " + logFile + ": " + e.getMessage());
    }
    try (InputStream in = err) {
      int n;
      while ((n = in.read(buf)) > 0) {
        tail.write(buf, 0, n);
        if (file != null) {
          if (logged + n <= cap) {
            file.write(buf, 0, n);
          } else if (logged <= cap) {
            file.write(("\n[nightshift: log truncated at " + cap + " bytes]\n").getBytes(StandardCharsets.UTF_8));
          }
          logged += n;
        }
      }
    } catch (IOException e) {
      // the process ended and its pipe closed
    } finally {
      if (file != null) {
        try {
          file.close();
        } catch (IOException e) {
          LOG.log(Level.FINE, "closing attempt log", e);
        }
      }
    }
  }

  private synchronized void noteDescendants(Process p) {
    p.descendants().forEach(seen::add);
  }

  private static Integer awaitExit(Process p) {
    try {
      if (p.waitFor(10, TimeUnit.SECONDS)) {
        return p.exitValue();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return null;
  }

  /** Waits briefly for the stderr reader: an orphan still holding the pipe must not hold up the result. */
  private static void join(Thread t) {
    try {
      t.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void writeQuietly(Path file, byte[] bytes) {
    try {
      Files.write(file, bytes);
    } catch (IOException e) {
      LOG.fine(() -> "cannot write attempt log " + file + ": " + e.getMessage());
    }
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0;
    }
  }

  private static Thread daemon(String name, Runnable r) {
    return DaemonThreads.named(name).newThread(r);
  }

  private RunResult result(
      AttemptOutcome outcome, Integer exit, Instant started, String error, TailBuffer tail, Path out) {
    return new RunResult(outcome, exit, started, clock.instant(), error, tail.text(), out, size(out));
  }
}
