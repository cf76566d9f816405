package dev.nightshift.agent.system;

import dev.nightshift.protocol.HostFacts;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.util.Map;

/** Collects the facts about this machine that the agent reports when it enrolls. */
public final class HostFactsProbe {
  private HostFactsProbe() {}

  public static HostFacts probe(Map<String, String> env) {
    Runtime rt = Runtime.getRuntime();
    return new HostFacts(
        hostname(env),
        System.getProperty("os.name") + " " + System.getProperty("os.version"),
        System.getProperty("os.arch"),
        rt.availableProcessors(),
        memoryBytes(),
        AgentVersion.current(),
        Runtime.version().toString());
  }

  /** The host name, from the resolver, else HOSTNAME / COMPUTERNAME, else "unknown-host". */
  public static String hostname(Map<String, String> env) {
    try {
      String name = InetAddress.getLocalHost().getHostName();
      if (name != null && !name.isBlank()) {
        return name;
      }
    } catch (Exception e) {
      // fall through to the environment
    }
    for (String key : new String[] {"HOSTNAME", "COMPUTERNAME"}) {
      String v = env.get(key);
      if (v != null && !v.isBlank()) {
        return v;
      }
    }
    return "unknown-host";
  }

  private static long memoryBytes() {
    try {
      if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
        return os.getTotalMemorySize();
      }
    } catch (RuntimeException | LinkageError e) {
      // not available on this JVM
    }
    return 0;
  }
}
