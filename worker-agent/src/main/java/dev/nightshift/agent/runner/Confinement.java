package dev.nightshift.agent.runner;

import dev.nightshift.agent.system.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Script confinement (Linux): scripts run as another, low-privilege OS user ({@code --script-user}) and each attempt
 * in a control group of its own with memory and CPU limits ({@code --script-memory}, {@code --script-cpus}).
 *
 * <p>As another user a script cannot read the agent's files (identity and its token, spool, logs of other batches,
 * the Git repository) nor {@code /proc/<agent pid>/environ}: the data directory is opened to the script user's group
 * only as far as the checkout it runs and its own scratch directory, everything else there stays the agent's
 * (0700/0600). The agent must run as root (a system service) to switch users; it starts each script through
 * {@code setpriv --reuid --regid --init-groups --no-new-privs}.
 *
 * <p>Control groups: cgroup v2 (the unified hierarchy, what systemd services get; the agent's unit needs
 * {@code Delegate=yes} so the agent may create groups below its own; the agent then moves itself into a leaf
 * {@code agent} group, as systemd asks of delegated services) or cgroup v1 ({@code memory} and {@code cpu}
 * hierarchies). A small {@code sh} wrapper writes its own pid into the attempt's group before it execs the script,
 * so every process of the script is inside from the start. Memory beyond the limit is killed by the kernel, and the
 * attempt fails saying so; CPU beyond the limit is throttled.
 */
public final class Confinement {
  private static final Logger LOG = Logger.getLogger(Confinement.class.getName());
  private static final long CPU_PERIOD_MICROS = 100_000;
  /** The wrapper that puts itself into the attempt's control group(s), then execs the rest of its arguments. */
  static final String ENTER_CGROUP =
      "while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit 125; shift; done; shift; exec \"$@\"";

  /**
   * What confinement the agent was asked for.
   *
   * @param user the OS user scripts run as, or null for the agent's own
   * @param memoryBytes the memory limit of each attempt, 0 for none
   * @param cpus the CPU limit of each attempt in CPUs (1.5: one and a half cores), 0 for none
   */
  public record Settings(String user, long memoryBytes, double cpus) {
    public static final Settings NONE = new Settings(null, 0, 0);

    public boolean any() {
      return user != null || memoryBytes > 0 || cpus > 0;
    }

    boolean limits() {
      return memoryBytes > 0 || cpus > 0;
    }
  }

  /** The agent's confinement cannot be set up; the message says what to fix. */
  public static final class ConfinementException extends RuntimeException {
    public ConfinementException(String message) {
      super(message);
    }
  }

  private final Settings settings;
  private final Path dataRoot;
  private final List<String> switchUser; // setpriv ... -- ; empty without a script user
  private final GroupPrincipal scriptGroup; // null without a script user
  private final UserPrincipal scriptUser;
  private final CgroupLayout cgroups; // null without limits

  private Confinement(
      Settings settings, Path dataRoot, List<String> switchUser, UserPrincipal scriptUser, GroupPrincipal scriptGroup,
      CgroupLayout cgroups) {
    this.settings = settings;
    this.dataRoot = dataRoot;
    this.switchUser = List.copyOf(switchUser);
    this.scriptUser = scriptUser;
    this.scriptGroup = scriptGroup;
    this.cgroups = cgroups;
  }

  /** No confinement: scripts run as the agent's user, without limits of their own. */
  public static Confinement none() {
    return new Confinement(Settings.NONE, null, List.of(), null, null, null);
  }

  /**
   * Sets confinement up as asked, on this machine's {@code /sys/fs/cgroup}.
   *
   * @throws ConfinementException when it cannot be had here, saying why and what to do
   */
  public static Confinement open(Settings settings, Path dataRoot, String osName) {
    return open(settings, dataRoot, osName, Path.of("/sys/fs/cgroup"), Path.of("/proc/self/cgroup"));
  }

  static Confinement open(Settings settings, Path dataRoot, String osName, Path cgroupFs, Path selfCgroup) {
    if (!settings.any()) {
      return none();
    }
    if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
      throw new ConfinementException("--script-user, --script-memory and --script-cpus work on Linux only; on "
          + osName + " run the agent itself as a low-privilege account (docs/security.md#script-confinement)");
    }
    List<String> switchUser = List.of();
    UserPrincipal user = null;
    GroupPrincipal group = null;
    if (settings.user() != null) {
      String setpriv = Stream.of("/usr/bin/setpriv", "/bin/setpriv").filter(p -> Files.isExecutable(Path.of(p)))
          .findFirst().orElseThrow(() -> new ConfinementException(
              "--script-user needs setpriv (util-linux), which is not installed"));
      if (!"0".equals(ownUid())) {
        throw new ConfinementException("--script-user " + settings.user() + " needs the agent to run as root (a"
            + " system service) to switch users; it runs as uid " + ownUid());
      }
      String uid = run("id", "-u", settings.user());
      String groupName = run("id", "-gn", settings.user());
      if (uid == null || groupName == null) {
        throw new ConfinementException("--script-user " + settings.user() + ": no such user on this machine"
            + " (create one, e.g. useradd --system --no-create-home nightshift-script)");
      }
      if ("0".equals(uid)) {
        throw new ConfinementException("--script-user " + settings.user() + " is root: choose a low-privilege user");
      }
      try {
        var lookup = dataRoot.getFileSystem().getUserPrincipalLookupService();
        user = lookup.lookupPrincipalByName(settings.user());
        group = lookup.lookupPrincipalByGroupName(groupName);
      } catch (IOException e) {
        throw new ConfinementException("--script-user " + settings.user() + ": " + e.getMessage());
      }
      for (Path p = dataRoot.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
        if (!othersMayEnter(p)) {
          throw new ConfinementException("--script-user " + settings.user() + " cannot reach the data dir: " + p
              + " is closed to other users (chmod o+x " + p + ", or choose a --data-dir such as"
              + " /var/lib/nightshift-agent)");
        }
      }
      switchUser = List.of(setpriv, "--reuid=" + settings.user(), "--regid=" + groupName, "--init-groups",
          "--no-new-privs", "--");
    }
    CgroupLayout layout = settings.limits() ? CgroupLayout.detect(cgroupFs, selfCgroup) : null;
    return new Confinement(settings, dataRoot, switchUser, user, group, layout);
  }

  public Settings settings() {
    return settings;
  }

  /** What {@link #toString()} says in the agent's start-up line. */
  @Override
  public String toString() {
    if (!settings.any()) {
      return "none";
    }
    return (settings.user() == null ? "" : "user " + settings.user())
        + (cgroups == null ? "" : (settings.user() == null ? "" : ", ") + cgroups.describe(settings));
  }

  /** The OS user scripts run as, or null for the agent's own. */
  public String user() {
    return settings.user();
  }

  /**
   * Gets one attempt ready: the script user may read {@code workspace} and owns {@code scratch}; the rest of the data
   * directory stays closed to it; the attempt's control groups exist with their limits.
   */
  Attempt begin(String attemptName, Path workspace, Path scratch) throws IOException {
    List<Path> procs = List.of();
    List<Path> groups = List.of();
    if (scriptUser != null) {
      sealDataDir();
      openToScripts(workspace);
      var view = Files.getFileAttributeView(scratch, PosixFileAttributeView.class);
      view.setOwner(scriptUser);
      view.setGroup(scriptGroup);
    }
    if (cgroups != null) {
      groups = cgroups.create("nightshift-" + attemptName, settings);
      procs = groups.stream().map(g -> g.resolve("cgroup.procs")).toList();
    }
    List<String> prefix = new ArrayList<>();
    if (!procs.isEmpty()) {
      prefix.addAll(List.of("/bin/sh", "-c", ENTER_CGROUP, "nightshift-enter-cgroup"));
      procs.forEach(p -> prefix.add(p.toString()));
      prefix.add("--");
    }
    prefix.addAll(switchUser);
    return new Attempt(prefix, groups);
  }

  /** One attempt's confinement: the command prefix, and its control groups until {@link #close()}. */
  final class Attempt implements AutoCloseable {
    private final List<String> prefix;
    private final List<Path> groups;

    Attempt(List<String> prefix, List<Path> groups) {
      this.prefix = List.copyOf(prefix);
      this.groups = List.copyOf(groups);
    }

    /** What goes before the shell and the command. */
    List<String> prefix() {
      return prefix;
    }

    /** Whether the kernel killed a process of this attempt for going over its memory limit. */
    boolean memoryExceeded() {
      return cgroups != null && groups.stream().anyMatch(cgroups::oomKilled);
    }

    /** The limit that was exceeded, for the attempt's error. */
    String memoryLimit() {
      return humanBytes(settings.memoryBytes());
    }

    /** Kills what is left in the attempt's groups and removes them. */
    @Override
    public void close() {
      if (cgroups != null) {
        groups.forEach(CgroupLayout::remove);
      }
    }
  }

  /** Everything directly in the data dir except the code checkouts and the runs dir: the agent's alone. */
  private void sealDataDir() throws IOException {
    openDir(dataRoot, false);
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataRoot)) {
      for (Path e : entries) {
        String name = e.getFileName().toString();
        if (name.equals("code") || name.equals("runs")) {
          openDir(e, false);
          if (name.equals("code")) {
            try (DirectoryStream<Path> code = Files.newDirectoryStream(e)) {
              for (Path c : code) {
                if (c.getFileName().toString().equals("checkouts")) {
                  openDir(c, false);
                } else {
                  closeToOthers(c);
                }
              }
            }
          }
        } else {
          closeToOthers(e);
        }
      }
    }
  }

  /** Group = the script user's group; the group may enter (and with {@code list}, read) the directory; others not. */
  private void openDir(Path dir, boolean list) throws IOException {
    var view = Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.setGroup(scriptGroup);
    view.setPermissions(PosixFilePermissions.fromString(list ? "rwxr-x---" : "rwx--x---"));
  }

  private static void closeToOthers(Path p) throws IOException {
    if (Files.isSymbolicLink(p)) {
      return;
    }
    Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(p));
    boolean changed = perms.removeAll(EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_EXECUTE));
    if (changed) {
      Files.setPosixFilePermissions(p, perms);
    }
  }

  /**
   * The checkout (or work dir) readable by the script user's group, not writable; done once per checkout: its top
   * directory is changed last, so a checkout whose top already has the group is done.
   */
  private void openToScripts(Path workspace) throws IOException {
    Path top = workspace.toAbsolutePath();
    if (!top.startsWith(dataRoot.toAbsolutePath())) {
      return; // a work dir outside the data dir: its owner decides who reads it
    }
    for (Path p = top.getParent(); p != null && p.startsWith(dataRoot.toAbsolutePath()); p = p.getParent()) {
      openDir(p, false);
    }
    var topView = Files.getFileAttributeView(top, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (topView.readAttributes().group().equals(scriptGroup)) {
      return;
    }
    try (Stream<Path> tree = Files.walk(top)) {
      for (Path p : tree.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (Files.isSymbolicLink(p)) {
          continue;
        }
        var view = Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        view.setGroup(scriptGroup);
        Set<PosixFilePermission> perms = EnumSet.copyOf(view.readAttributes().permissions());
        perms.add(PosixFilePermission.GROUP_READ);
        perms.remove(PosixFilePermission.GROUP_WRITE);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) || perms.contains(PosixFilePermission.OWNER_EXECUTE)) {
          perms.add(PosixFilePermission.GROUP_EXECUTE);
        }
        perms.removeAll(EnumSet.of(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE));
        view.setPermissions(perms);
      }
    }
  }

  private static boolean othersMayEnter(Path dir) {
    try {
      return Files.getPosixFilePermissions(dir).contains(PosixFilePermission.OTHERS_EXECUTE);
    } catch (IOException | UnsupportedOperationException e) {
      return true;
    }
  }

  /** This process's real uid, from {@code /proc/self/status}. */
  private static String ownUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.substring(4).trim().split("\\s+")[0];
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return "unknown";
  }

  /** A command's first line of output, or null when it fails. */
  private static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty()) {
        return null;
      }
      return out.lines().findFirst().orElse(null);
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  static String humanBytes(long bytes) {
    if (bytes % (1L << 30) == 0) {
      return (bytes >> 30) + " GiB";
    }
    if (bytes % (1L << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    return bytes + " bytes";
  }

  /** Where this agent may make control groups, and how limits are written there (v2 or v1). */
  record CgroupLayout(boolean v2, Path memoryParent, Path cpuParent) {

    static CgroupLayout detect(Path cgroupFs, Path selfCgroup) {
      List<String> lines;
      try {
        lines = Files.readAllLines(selfCgroup);
      } catch (IOException e) {
        throw new ConfinementException("--script-memory/--script-cpus need control groups: cannot read " + selfCgroup);
      }
      if (Files.exists(cgroupFs.resolve("cgroup.controllers"))) {
        String own = lines.stream().filter(l -> l.startsWith("0::")).map(l -> l.substring(3)).findFirst().orElse("/");
        Path base = cgroupFs.resolve(own.substring(1));
        return new CgroupLayout(true, delegateV2(base), null);
      }
      Path memory = v1Parent(cgroupFs, lines, "memory");
      Path cpu = v1Parent(cgroupFs, lines, "cpu");
      return new CgroupLayout(false, memory, cpu);
    }

    /**
     * Under cgroup v2 a group with processes cannot hand controllers to children: the agent moves itself (and
     * whatever else is in its group) into a leaf {@code agent} group, then enables memory and cpu below its own.
     */
    private static Path delegateV2(Path base) {
      String hint = " (run the agent as a systemd service with Delegate=yes: deploy/systemd/nightshift-agent.service)";
      try {
        String enabled = Files.readString(base.resolve("cgroup.subtree_control"));
        if (!(enabled.contains("memory") && enabled.contains("cpu"))) {
          Path leaf = base.resolve("agent");
          Files.createDirectories(leaf);
          for (String pid : Files.readAllLines(base.resolve("cgroup.procs"))) {
            if (!pid.isBlank()) {
              Files.writeString(leaf.resolve("cgroup.procs"), pid.strip());
            }
          }
          Files.writeString(base.resolve("cgroup.subtree_control"), "+memory +cpu");
        }
        return base;
      } catch (IOException e) {
        throw new ConfinementException("--script-memory/--script-cpus: cannot delegate control groups below " + base
            + ": " + e.getMessage() + hint);
      }
    }

    private static Path v1Parent(Path cgroupFs, List<String> lines, String controller) {
      for (String line : lines) {
        String[] parts = line.split(":", 3);
        if (parts.length == 3 && List.of(parts[1].split(",")).contains(controller)) {
          Path mount = cgroupFs.resolve(parts[1]);
          if (!Files.isDirectory(mount)) {
            mount = cgroupFs.resolve(controller);
          }
          Path parent = mount.resolve(parts[2].substring(1));
          if (!Files.isWritable(parent)) {
            throw new ConfinementException("--script-memory/--script-cpus: cannot make control groups in " + parent
                + " (the agent needs to run as root or in a delegated group)");
          }
          return parent;
        }
      }
      throw new ConfinementException("--script-memory/--script-cpus: no " + controller + " control group on this"
          + " machine (" + cgroupFs + ")");
    }

    String describe(Settings s) {
      return (s.memoryBytes() > 0 ? "memory " + humanBytes(s.memoryBytes()) : "")
          + (s.memoryBytes() > 0 && s.cpus() > 0 ? ", " : "")
          + (s.cpus() > 0 ? "cpus " + s.cpus() : "")
          + " per attempt (cgroup " + (v2 ? "v2" : "v1") + ")";
    }

    /** Makes the attempt's group(s) with the limits; returns them (v1: memory and cpu may be two). */
    List<Path> create(String name, Settings s) throws IOException {
      List<Path> made = new ArrayList<>();
      if (v2) {
        Path g = fresh(memoryParent.resolve(name));
        if (s.memoryBytes() > 0) {
          Files.writeString(g.resolve("memory.max"), Long.toString(s.memoryBytes()));
          writeIfPresent(g.resolve("memory.swap.max"), "0");
        }
        if (s.cpus() > 0) {
          Files.writeString(g.resolve("cpu.max"), quota(s) + " " + CPU_PERIOD_MICROS);
        }
        made.add(g);
        return made;
      }
      Path memory = fresh(memoryParent.resolve(name));
      made.add(memory);
      if (s.memoryBytes() > 0) {
        Files.writeString(memory.resolve("memory.limit_in_bytes"), Long.toString(s.memoryBytes()));
        writeIfPresent(memory.resolve("memory.memsw.limit_in_bytes"), Long.toString(s.memoryBytes()));
      }
      if (s.cpus() > 0) {
        Path cpu = cpuParent.equals(memoryParent) ? memory : fresh(cpuParent.resolve(name));
        Files.writeString(cpu.resolve("cpu.cfs_period_us"), Long.toString(CPU_PERIOD_MICROS));
        Files.writeString(cpu.resolve("cpu.cfs_quota_us"), Long.toString(quota(s)));
        if (!cpu.equals(memory)) {
          made.add(cpu);
        }
      }
      return made;
    }

    private static long quota(Settings s) {
      return Math.max(1_000, Math.round(s.cpus() * CPU_PERIOD_MICROS));
    }

    private static Path fresh(Path group) throws IOException {
      remove(group); // left by an agent that died mid-attempt
      Files.createDirectory(group);
      return group;
    }

    private static void writeIfPresent(Path file, String value) {
      if (Files.exists(file)) {
        try {
          Files.writeString(file, value);
        } catch (IOException e) {
          LOG.fine("cannot write " + file + ": " + e.getMessage());
        }
      }
    }

    /** Whether the kernel's OOM killer killed a process in {@code group}. */
    boolean oomKilled(Path group) {
      Path events = group.resolve(v2 ? "memory.events" : "memory.oom_control");
      try {
        for (String line : Files.readAllLines(events)) {
          if (line.startsWith("oom_kill ")) {
            return Long.parseLong(line.substring(9).trim()) > 0;
          }
        }
      } catch (IOException | NumberFormatException e) {
        return false;
      }
      return false;
    }

    /** Kills whatever is still in {@code group}, then removes it; logs (never throws) when it cannot. */
    static void remove(Path group) {
      if (!Files.isDirectory(group)) {
        return;
      }
      Path procs = group.resolve("cgroup.procs");
      IOException last = null;
      for (int i = 0; i < 100; i++) {
        try {
          if (Files.exists(procs)) {
            for (String pid : Files.readAllLines(procs)) {
              if (!pid.isBlank()) {
                ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
              }
            }
          }
          deleteGroup(group);
          return;
        } catch (IOException e) {
          last = e; // busy: a killed process is not gone yet
        } catch (NumberFormatException e) {
          break;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      LOG.warning("cannot remove control group " + group + ": " + last);
    }

    /** A real control group is removed with rmdir alone; a plain directory (tests) needs its files deleted first. */
    private static void deleteGroup(Path group) throws IOException {
      try {
        Files.delete(group);
      } catch (java.nio.file.DirectoryNotEmptyException e) {
        if (Files.getFileStore(group).type().startsWith("cgroup")) {
          throw e;
        }
        AtomicFiles.deleteTree(group);
      }
    }
  }
}
