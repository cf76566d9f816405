package dev.nightshift.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback between agents and the server that injects network faults: with the configured
 * probability a chunk of request bytes is reset (RST, nothing reaches the server), truncated (the server reads a
 * body cut short), or delivered with the answer lost (the server may act, the client never hears); while a
 * blackhole lasts, connections and requests are held without a word. The upstream port can change while it runs (a
 * restarted server). The choices are deterministic per seed; their timing is not.
 */
public final class FaultProxy implements AutoCloseable {
  /** What happens to one connection. */
  public enum Fault {
    NONE,
    /** RST: the request never reaches the server. */
    RESET,
    /** The request reaches the server, the client never sees the answer. */
    HALF_CLOSE,
    /** Half the request reaches the server, then the connection ends (a body cut short). */
    TRUNCATE,
    /** Accepted, nothing forwarded, until {@link #liftBlackhole} or close. */
    BLACKHOLE
  }

  private final ServerSocket listener;
  private final Random random;
  private volatile int upstreamPort;
  private volatile double faultRate;
  private volatile boolean blackholeAll;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Map<Fault, AtomicLong> counts = new EnumMap<>(Fault.class);
  private final Object blackhole = new Object();
  private volatile boolean closed;

  public FaultProxy(int upstreamPort, long seed) throws IOException {
    this.upstreamPort = upstreamPort;
    this.random = new Random(seed);
    for (Fault f : Fault.values()) {
      counts.put(f, new AtomicLong());
    }
    listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
    Thread t = new Thread(this::acceptLoop, "fault-proxy");
    t.setDaemon(true);
    t.start();
  }

  public int port() {
    return listener.getLocalPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  public void upstream(int port) {
    this.upstreamPort = port;
  }

  /** The share of new connections that get a random fault other than a blackhole (0 turns faults off). */
  public void faultRate(double rate) {
    this.faultRate = rate;
  }

  /** Every new connection is blackholed until {@link #liftBlackhole}. */
  public void blackhole() {
    blackholeAll = true;
  }

  /** Ends the blackhole: the held connections are closed (their clients time out or see them end). */
  public void liftBlackhole() {
    blackholeAll = false;
    synchronized (blackhole) {
      blackhole.notifyAll();
    }
  }

  /** How many connections got each fault. */
  public Map<Fault, Long> counts() {
    Map<Fault, Long> m = new EnumMap<>(Fault.class);
    counts.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  /** A fault for the next request chunk on a connection (NONE most of the time), counted. */
  private Fault pick() {
    Fault f;
    if (blackholeAll) {
      f = Fault.BLACKHOLE;
    } else {
      synchronized (random) {
        f =
            random.nextDouble() >= faultRate
                ? Fault.NONE
                : switch (random.nextInt(3)) {
                  case 0 -> Fault.RESET;
                  case 1 -> Fault.HALF_CLOSE;
                  default -> Fault.TRUNCATE;
                };
      }
    }
    counts.get(f).incrementAndGet();
    return f;
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = listener.accept();
        open.add(client);
        Thread t = new Thread(() -> serve(client), "fault-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  /**
   * Forwards one client connection. Agents keep connections alive, so faults are decided per chunk of request
   * bytes (roughly per request), not per connection: most chunks pass, a few end the connection one of the ways
   * above, and while a blackhole lasts new connections and new chunks are held.
   */
  private void serve(Socket client) {
    try (client) {
      if (blackholeAll) {
        counts.get(Fault.BLACKHOLE).incrementAndGet();
        holdWhileBlackholed();
        return;
      }
      try (Socket server = new Socket()) {
        server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort), 2_000);
        open.add(server);
        try {
          Thread down = pump(server.getInputStream(), client.getOutputStream(), client);
          InputStream in = client.getInputStream();
          OutputStream up = server.getOutputStream();
          byte[] buf = new byte[16 * 1024];
          while (true) {
            int n = in.read(buf);
            if (n < 0) {
              server.shutdownOutput();
              down.join(30_000);
              return;
            }
            Fault f = pick();
            switch (f) {
              case NONE -> {
                up.write(buf, 0, n);
                up.flush();
              }
              case RESET -> {
                client.setSoLinger(true, 0); // close() sends RST; the request never reaches the server
                server.setSoLinger(true, 0);
                return;
              }
              case TRUNCATE -> {
                up.write(buf, 0, Math.max(1, n / 2)); // the server reads a body cut short
                up.flush();
                server.shutdownOutput();
                Thread.sleep(100);
                client.setSoLinger(true, 0);
                return;
              }
              case HALF_CLOSE -> {
                up.write(buf, 0, n); // the server gets the whole request and may act on it...
                up.flush();
                Thread.sleep(50);
                client.setSoLinger(true, 0); // ...but the client never sees the answer
                return;
              }
              case BLACKHOLE -> {
                holdWhileBlackholed(); // held, then the connection just ends
                return;
              }
            }
          }
        } finally {
          open.remove(server);
        }
      }
    } catch (IOException | InterruptedException e) {
      // the connection ends; that is the point of this class
    } finally {
      open.remove(client);
    }
  }

  private void holdWhileBlackholed() throws InterruptedException {
    synchronized (blackhole) {
      while (blackholeAll && !closed) {
        blackhole.wait(1_000);
      }
    }
  }

  /** Copies {@code in} to {@code out} on a new thread, then shuts {@code to}'s output (passing the FIN on). */
  private static Thread pump(InputStream in, OutputStream out, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16 * 1024];
              try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                  out.write(buf, 0, n);
                  out.flush();
                }
                to.shutdownOutput();
              } catch (IOException e) {
                // ends with the connection
              }
            },
            "fault-proxy-pump");
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Override
  public void close() {
    closed = true;
    liftBlackhole();
    try {
      listener.close();
    } catch (IOException e) {
      // closing
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException | RuntimeException e) {
        // closing
      }
    }
  }
}
