package dev.nightshift.agent.runner;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.platform.win32.Kernel32;
import com.sun.jna.platform.win32.WinNT;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * Kills, suspends and resumes a process with all its descendants, so that no grandchild outlives a timeout or a
 * cancel, and none keeps running while the owner is back. Suspending is SIGSTOP on Unix ({@code kill -STOP}) and
 * {@code NtSuspendProcess} on Windows (through JNA; untested in CI).
 */
final class ProcessTree {
  private static final Logger LOG = Logger.getLogger(ProcessTree.class.getName());
  private static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

  private ProcessTree() {}

  /**
   * Kills the descendants of {@code root} (again, while new ones appear), then {@code root} itself, then any
   * {@code alsoSeen} process still alive (descendants seen earlier that may have been orphaned since).
   */
  static void kill(ProcessHandle root, Collection<ProcessHandle> alsoSeen) {
    for (int round = 0; round < 5 && root.isAlive(); round++) {
      List<ProcessHandle> descendants = root.descendants().collect(Collectors.toList());
      if (descendants.isEmpty()) {
        break;
      }
      descendants.forEach(ProcessHandle::destroyForcibly);
    }
    root.destroyForcibly();
    alsoSeen.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }

  /**
   * Stops {@code root} first (so it forks no more), then its descendants, again while new ones show up. Returns
   * how many processes were stopped.
   */
  static int suspend(ProcessHandle root) {
    List<Long> done = new ArrayList<>();
    signal(List.of(root.pid()), true);
    done.add(root.pid());
    for (int round = 0; round < 3; round++) {
      List<Long> fresh = root.descendants().map(ProcessHandle::pid).filter(p -> !done.contains(p)).toList();
      if (fresh.isEmpty()) {
        break;
      }
      signal(fresh, true);
      done.addAll(fresh);
    }
    return done.size();
  }

  /** Continues the descendants of {@code root}, then {@code root}. */
  static void resume(ProcessHandle root) {
    List<Long> pids = new ArrayList<>(root.descendants().map(ProcessHandle::pid).toList());
    pids.add(root.pid());
    signal(pids, false);
  }

  private static void signal(List<Long> pids, boolean stop) {
    if (pids.isEmpty()) {
      return;
    }
    if (WINDOWS) {
      pids.forEach(pid -> windows(pid, stop));
      return;
    }
    List<String> command = new ArrayList<>();
    command.add(kill());
    command.add(stop ? "-STOP" : "-CONT");
    pids.forEach(p -> command.add(Long.toString(p)));
    Lock forking = ForkLock.starting();
    Process p;
    forking.lock();
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      LOG.warning("cannot " + (stop ? "suspend" : "resume") + " processes " + pids + ": " + e.getMessage());
      return;
    } finally {
      forking.unlock();
    }
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // a non-zero exit means a process ended meanwhile: nothing to stop or continue there
  }

  private static String kill() {
    for (String k : new String[] {"/bin/kill", "/usr/bin/kill"}) {
      if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(k))) {
        return k;
      }
    }
    return "kill";
  }

  private static final int PROCESS_SET_INFORMATION = 0x0200;
  private static final int BELOW_NORMAL_PRIORITY_CLASS = 0x4000;

  /**
   * Windows: puts a just-started script into the below-normal priority class, which the processes it starts
   * inherit (Unix scripts start under {@code nice -n 10} instead). A no-op elsewhere. Untested in CI.
   */
  static void lowerPriority(ProcessHandle process) {
    if (!WINDOWS) {
      return;
    }
    try {
      WinNT.HANDLE h = Kernel32.INSTANCE.OpenProcess(PROCESS_SET_INFORMATION, false, (int) process.pid());
      if (h == null) {
        return;
      }
      try {
        Kernel32.INSTANCE.SetPriorityClass(h, new com.sun.jna.platform.win32.WinDef.DWORD(BELOW_NORMAL_PRIORITY_CLASS));
      } finally {
        Kernel32.INSTANCE.CloseHandle(h);
      }
    } catch (RuntimeException | LinkageError e) {
      LOG.fine("cannot lower the priority of process " + process.pid() + ": " + e);
    }
  }

  /** {@code NtSuspendProcess} / {@code NtResumeProcess}: undocumented but stable since Windows XP. */
  interface NtDll extends Library {
    int NtSuspendProcess(WinNT.HANDLE process);

    int NtResumeProcess(WinNT.HANDLE process);
  }

  private static final int PROCESS_SUSPEND_RESUME = 0x0800;

  private static void windows(long pid, boolean stop) {
    try {
      NtDll nt = Native.load("ntdll", NtDll.class);
      WinNT.HANDLE h = Kernel32.INSTANCE.OpenProcess(PROCESS_SUSPEND_RESUME, false, (int) pid);
      if (h == null) {
        return;
      }
      try {
        int status = stop ? nt.NtSuspendProcess(h) : nt.NtResumeProcess(h);
        if (status != 0) {
          LOG.fine("NtSuspend/ResumeProcess(" + pid + ") returned " + status);
        }
      } finally {
        Kernel32.INSTANCE.CloseHandle(h);
      }
    } catch (RuntimeException | LinkageError e) {
      LOG.warning("cannot " + (stop ? "suspend" : "resume") + " process " + pid + ": " + e);
    }
  }
}
