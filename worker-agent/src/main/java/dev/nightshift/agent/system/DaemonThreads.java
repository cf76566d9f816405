package dev.nightshift.agent.system;

import java.util.concurrent.ThreadFactory;

/** The agent's background threads: named, so a thread dump says what each does, and daemons, so none keeps it up. */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** Makes daemon threads called {@code name}. */
  public static ThreadFactory named(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
