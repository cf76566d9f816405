package dev.nightshift.agent.lock;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * One agent per data directory: an OS file lock on {@code agent.lock}, held for the life of the process, and the
 * holder's pid in {@code agent.pid} so a refused start can name it. The OS drops the lock when the process dies,
 * however it dies.
 */
public final class InstanceLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;
  private final Path pidFile;

  private InstanceLock(FileChannel channel, FileLock lock, Path pidFile) {
    this.channel = channel;
    this.lock = lock;
    this.pidFile = pidFile;
  }

  /** The outcome of {@link #tryAcquire}: the lock, or the pid of the agent holding it (null when unknown). */
  public record Attempt(InstanceLock lock, String holderPid) {
    public boolean acquired() {
      return lock != null;
    }

    /** The message a refused start prints. */
    public String refusal(Path dataDir) {
      return "another agent (pid " + (holderPid == null ? "unknown" : holderPid)
          + ") is already running with data dir " + dataDir + "; exiting";
    }
  }

  /** Takes the lock without waiting. */
  public static Attempt tryAcquire(Path lockFile, Path pidFile) throws IOException {
    Files.createDirectories(lockFile.toAbsolutePath().getParent());
    FileChannel ch =
        FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this very JVM through another channel
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    if (lock == null) {
      ch.close();
      return new Attempt(null, readPid(pidFile).orElse(null));
    }
    Files.writeString(pidFile, Long.toString(ProcessHandle.current().pid()) + System.lineSeparator(),
        StandardCharsets.US_ASCII);
    return new Attempt(new InstanceLock(ch, lock, pidFile), null);
  }

  private static Optional<String> readPid(Path pidFile) {
    try {
      String pid = Files.readString(pidFile, StandardCharsets.US_ASCII).trim();
      return pid.isEmpty() ? Optional.empty() : Optional.of(pid);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    try {
      Files.deleteIfExists(pidFile);
    } catch (IOException e) {
      // a stale pid file is harmless: it is only read when the lock is held
    }
    try {
      lock.release();
    } catch (IOException e) {
      // closing the channel below releases it anyway
    }
    try {
      channel.close();
    } catch (IOException e) {
      // nothing left to do
    }
  }
}
