package dev.nightshift.agent.runner;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Go's {@code syscall.ForkLock}, for the same reason: a process started while another thread has a file open for
 * writing inherits that descriptor until it execs, and a script that runs the file meanwhile fails with "Text file
 * busy" (ETXTBSY). Whoever writes files that may be executed (checkouts) holds the shared side around each file;
 * starting a process holds the exclusive side, so no child is ever born holding such a file open.
 */
public final class ForkLock {
  private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();

  private ForkLock() {}

  /** Held while one file is open for writing; many writers at once. */
  public static Lock writing() {
    return LOCK.readLock();
  }

  /** Held while a process is started. */
  public static Lock starting() {
    return LOCK.writeLock();
  }
}
