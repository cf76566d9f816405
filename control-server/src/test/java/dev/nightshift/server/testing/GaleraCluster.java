package dev.nightshift.server.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A real MariaDB Galera cluster of three nodes on loopback ports: three {@code mariadbd} processes (Debian's
 * {@code mariadb-server}) with wsrep on and Debian's {@code galera-4} provider, each with its own data directory
 * (made by {@code mariadb-install-db}) under the test's directory and its own free ports for clients, group
 * communication (gcomm) and incremental state transfer. The first node bootstraps the cluster ({@code gcomm://});
 * the others join it one at a time and receive the state by {@code mysqldump} (root over TCP, no password, as
 * {@link MariaDbProcess} sets it up). Returns once every node says {@code wsrep_cluster_size=3} and Synced.
 * Multi-primary: every node accepts writes; conflicting transactions on different nodes fail certification.
 */
public final class GaleraCluster implements AutoCloseable {
  /** Debian's galera-4 provider; {@code -Dgalera.provider=…} names another (or a missing one, to see the skip). */
  static final Path PROVIDER = Path.of(System.getProperty("galera.provider", "/usr/lib/galera/libgalera_smm.so"));
  /** Generous: a loaded 2-core machine may take long for a joiner's state transfer. */
  static final Duration SYNC_TIMEOUT = Duration.ofSeconds(240);

  /** One node: its client port and the process. */
  public record Node(String name, int port, int gcommPort, MariaDbProcess process) {
    /** {@code jdbc:mariadb://127.0.0.1:port/} */
    public String serverUrl() {
      return process.serverUrl();
    }
  }

  private final List<Node> nodes = new ArrayList<>();

  private GaleraCluster() {}

  /** Why this machine cannot run one (mariadbd or the galera-4 provider is missing), or null when it can. */
  public static String missing() {
    String mariadb = MariaDbProcess.missing();
    if (mariadb != null) {
      return mariadb;
    }
    if (!Files.isReadable(PROVIDER)) {
      return PROVIDER + " is missing: install Debian's galera-4 package (apt-get install -y galera-4) to run this test";
    }
    return null;
  }

  /** Starts a cluster of {@code size} nodes with data directories under {@code dir}. */
  public static GaleraCluster start(Path dir, int size) throws IOException, InterruptedException {
    GaleraCluster cluster = new GaleraCluster();
    try {
      long started = System.nanoTime();
      int[] all = freePorts(3 * size); // client, gcomm, IST of each node; all distinct
      List<int[]> ports = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        ports.add(java.util.Arrays.copyOfRange(all, 3 * i, 3 * i + 3));
      }
      StringBuilder members = new StringBuilder();
      for (int[] p : ports) {
        members.append(members.isEmpty() ? "" : ",").append("127.0.0.1:").append(p[1]);
      }
      for (int i = 0; i < size; i++) {
        int[] p = ports.get(i);
        String name = "galera-" + (i + 1);
        // The first node bootstraps a new cluster; the others join through the members' gcomm addresses.
        String address = i == 0 ? "gcomm://" : "gcomm://" + members;
        MariaDbProcess db = MariaDbProcess.install(dir.resolve(name), p[0], options(name, address, p));
        Node node = new Node(name, p[0], p[1], db);
        cluster.nodes.add(node);
        cluster.awaitSynced(node, i + 1);
      }
      for (Node node : cluster.nodes) {
        cluster.awaitSynced(node, size);
      }
      System.out.printf(
          "Galera cluster of %d nodes (client ports %s) synced in %d s%n",
          size, cluster.nodes.stream().map(Node::port).toList(), Duration.ofNanos(System.nanoTime() - started)
              .toSeconds());
      return cluster;
    } catch (IOException | InterruptedException | RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  private static List<String> options(String name, String address, int[] ports) {
    String provider =
        String.join(
            ";",
            "gmcast.listen_addr=tcp://127.0.0.1:" + ports[1],
            "ist.recv_addr=127.0.0.1:" + ports[2],
            "gcache.size=64M",
            // A busy test machine stalls processes for seconds: do not evict a node for that.
            "evs.suspect_timeout=PT20S",
            "evs.inactive_timeout=PT40S",
            "evs.install_timeout=PT40S");
    return List.of(
        "--wsrep-on=ON",
        "--wsrep-provider=" + PROVIDER,
        "--wsrep-cluster-name=nightshift-test",
        "--wsrep-node-name=" + name,
        "--wsrep-cluster-address=" + address,
        "--wsrep-node-address=127.0.0.1:" + ports[1],
        "--wsrep-provider-options=" + provider,
        "--wsrep-sst-method=mysqldump",
        "--wsrep-sst-auth=root:",
        "--wsrep-sst-receive-address=127.0.0.1:" + ports[0],
        "--binlog-format=ROW",
        "--default-storage-engine=InnoDB",
        "--innodb-autoinc-lock-mode=2",
        "--innodb-flush-log-at-trx-commit=2");
  }

  /** Waits until the node is Synced and sees at least {@code members} nodes. */
  private void awaitSynced(Node node, int members) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + SYNC_TIMEOUT.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      if (!node.process().isAlive()) {
        throw new IllegalStateException(node.name() + " exited: " + node.process().log());
      }
      try {
        String state = status(node, "wsrep_local_state_comment");
        long clusterSize = Long.parseLong(status(node, "wsrep_cluster_size"));
        last = state + ", cluster size " + clusterSize;
        if ("Synced".equals(state) && clusterSize >= members) {
          return;
        }
      } catch (SQLException | NumberFormatException notYet) {
        last = notYet.toString();
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(
        node.name() + " not Synced with " + members + " members within " + SYNC_TIMEOUT.toSeconds() + " s (last: "
            + last + "): " + node.process().log());
  }

  /** A global status variable of one node, e.g. {@code wsrep_local_cert_failures}. */
  public String status(Node node, String variable) throws SQLException {
    try (Connection c = DriverManager.getConnection(node.serverUrl() + "?connectTimeout=2000", "root", "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW GLOBAL STATUS LIKE '" + variable + "'")) {
      return rs.next() ? rs.getString(2) : null;
    }
  }

  /** The sum of a numeric status variable over all nodes (e.g. certification failures, brute-force aborts). */
  public long sum(String variable) throws SQLException {
    long sum = 0;
    for (Node node : nodes) {
      sum += Long.parseLong(status(node, variable));
    }
    return sum;
  }

  /** Creates a database on the first node (replicated to all, as DDL is) and waits until every node has it. */
  public void createDatabase(String name) throws SQLException, InterruptedException {
    nodes.get(0).process().createDatabase(name);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (Node node : nodes) {
      while (true) {
        try (Connection c = DriverManager.getConnection(node.serverUrl() + name, "root", "")) {
          break;
        } catch (SQLException notYet) {
          if (System.nanoTime() > deadline) {
            throw notYet;
          }
          Thread.sleep(100);
        }
      }
    }
  }

  public List<Node> nodes() {
    return List.copyOf(nodes);
  }

  public Node node(int index) {
    return nodes.get(index);
  }

  /** Stops every node (the joiners first, then the one that bootstrapped). */
  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).process().close();
    }
  }

  /** {@code count} distinct free ports, all held open together while chosen so none is picked twice. */
  private static int[] freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }
}
