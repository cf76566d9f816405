package dev.nightshift.server.benchmarks;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * The load generator's own stop-the-world collections while it measures: a pause delays every answer it is waiting
 * for, so a benchmark's latency tail is the server's only where these are short. Concurrent cycles (ZGC's
 * "Cycles", G1's "Concurrent GC") are not pauses and are left out.
 */
final class GcPauses {
  private final AtomicLong count = new AtomicLong();
  private final AtomicLong totalMillis = new AtomicLong();
  private final AtomicLong maxMillis = new AtomicLong();

  private GcPauses() {}

  /** Counts this JVM's pauses from now on. */
  static GcPauses watch() {
    GcPauses pauses = new GcPauses();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc.getName().contains("Cycles") || gc.getName().contains("Concurrent")
          || !(gc instanceof NotificationEmitter emitter)) {
        continue;
      }
      emitter.addNotificationListener(
          (n, handback) -> {
            if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
              long ms =
                  GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData()).getGcInfo().getDuration();
              pauses.count.incrementAndGet();
              pauses.totalMillis.addAndGet(ms);
              pauses.maxMillis.accumulateAndGet(ms, Math::max);
            }
          },
          null,
          null);
    }
    return pauses;
  }

  @Override
  public String toString() {
    return String.format(
        "%d pauses, max %d ms, %d ms in all (%s)", count.get(), maxMillis.get(), totalMillis.get(),
        ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName).toList());
  }
}
