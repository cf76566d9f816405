package dev.nightshift.server.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nightshift.agent.config.SettingsResolver;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.type.filter.AnnotationTypeFilter;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every file in deploy/ is read and checked against the code: YAML and JSON parse; the settings named in compose,
 * Kubernetes and the environment-file examples are settings the server (bound through its real
 * {@code @ConfigurationProperties}) or the agent ({@code SettingsResolver.Key}) reads; ports, probes, service names
 * and image paths agree with each other; the systemd units start real agent options; the Dockerfiles copy files
 * that exist or that the build makes; the shell scripts parse. {@code kubectl kustomize}, {@code docker compose
 * config}, {@code systemd-analyze verify} and {@code shellcheck} run where installed, else those parts are skipped
 * with the reason. (The Kubernetes probe paths are requested from a real server in {@code AgentInstallIT}.)
 */
class DeployFilesTest {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path DEPLOY = ROOT.resolve("deploy");
  static final Path SCRIPTS = ROOT.resolve("control-server/src/main/resources/install");
  /** Settings of Spring Boot itself (not Nightshift's) that deploy/ may set. */
  static final Set<String> BOOT_SETTINGS =
      Set.of("SERVER_PORT", "SPRING_DATASOURCE_URL", "SPRING_DATASOURCE_USERNAME", "SPRING_DATASOURCE_PASSWORD");

  @Test
  void everyYamlAndJsonFileParses() throws IOException {
    List<Path> files = files(DEPLOY, ".yaml", ".yml", ".json");
    assertThat(files).extracting(p -> DEPLOY.relativize(p).toString())
        .contains("compose/compose.yaml", "kubernetes/kustomization.yaml", "grafana/nightshift.json");
    for (Path f : files) {
      if (f.toString().endsWith(".json")) {
        JsonMapper.builder().build().readTree(f.toFile());
      } else {
        List<Object> docs = new ArrayList<>();
        new Yaml().loadAll(Files.readString(f)).forEach(docs::add);
        assertThat(docs).as(f.toString()).isNotEmpty().doesNotContainNull();
      }
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeRunsMySql84TheServerAndTwoAgentsWithRealSettings() throws IOException {
    Map<String, Object> compose = yaml(DEPLOY.resolve("compose/compose.yaml"));
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");
    assertThat(services).containsOnlyKeys("mysql", "server", "agent-1", "agent-2");
    assertThat(services.get("mysql").get("image")).isEqualTo("mysql:8.4");
    Map<String, String> mysql = env(services.get("mysql"));

    Map<String, String> server = env(services.get("server"));
    server.forEach((k, v) -> assertServerSetting(k, v, "compose server"));
    String port = server.get("SERVER_PORT");
    assertThat((List<String>) services.get("server").get("ports")).contains(port + ":" + port);
    URI db = URI.create(server.get("SPRING_DATASOURCE_URL").substring("jdbc:".length()));
    assertThat(db.getScheme()).isEqualTo("mysql");
    assertThat(services).containsKey(db.getHost());
    assertThat(db.getPath()).isEqualTo("/" + mysql.get("MYSQL_DATABASE"));
    assertThat(server.get("SPRING_DATASOURCE_USERNAME")).isEqualTo(mysql.get("MYSQL_USER"));
    assertThat(server.get("SPRING_DATASOURCE_PASSWORD")).isEqualTo(mysql.get("MYSQL_PASSWORD"));
    assertDockerBuild(services.get("server"), "server.Dockerfile");

    for (String name : List.of("agent-1", "agent-2")) {
      Map<String, Object> agent = services.get(name);
      Map<String, String> env = env(agent);
      env.keySet().forEach(k -> assertAgentSetting(k, "compose " + name));
      assertThat(env.get("NIGHTSHIFT_SERVER")).isEqualTo("http://server:" + port);
      assertThat(env.get("NIGHTSHIFT_ENROLLMENT_TOKEN")).isEqualTo(server.get("NIGHTSHIFT_ENROLLMENT_TOKEN"));
      assertThat(env.get("NIGHTSHIFT_NAME")).isEqualTo(name);
      assertDockerBuild(agent, "agent.Dockerfile");
      assertThat((List<String>) agent.get("volumes")).as("each agent keeps its identity on its own volume")
          .singleElement().asString().startsWith(name + "-data:");
    }
    // every variable the file needs is in the example .env
    Set<String> needed = new TreeSet<>();
    Matcher m = Pattern.compile("\\$\\{([A-Z_]+)").matcher(Files.readString(DEPLOY.resolve("compose/compose.yaml")));
    while (m.find()) {
      needed.add(m.group(1));
    }
    assertThat(properties(DEPLOY.resolve("compose/env.example")).keySet()).containsAll(needed);
  }

  @Test
  void dockerComposeAcceptsTheComposeFile() throws Exception {
    assumeTrue(run(List.of("docker", "compose", "version"), ROOT).exitCode == 0,
        "docker compose is not installed here (no compose plugin): the file was checked by the parser only");
    Path env = DEPLOY.resolve("compose/.env");
    boolean made = !Files.exists(env);
    if (made) {
      Files.copy(DEPLOY.resolve("compose/env.example"), env);
    }
    try {
      Result r = run(List.of("docker", "compose", "-f", "deploy/compose/compose.yaml", "config", "--quiet"), ROOT);
      assertThat(r.exitCode).as(r.output).isZero();
    } finally {
      if (made) {
        Files.delete(env);
      }
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void kubernetesManifestsRenderAndAgreeWithTheServer() throws Exception {
    Path dir = DEPLOY.resolve("kubernetes");
    Map<String, Object> kustomization = yaml(dir.resolve("kustomization.yaml"));
    List<Map<String, Object>> docs = new ArrayList<>();
    for (String resource : (List<String>) kustomization.get("resources")) {
      assertThat(dir.resolve(resource)).exists();
      new Yaml().loadAll(Files.readString(dir.resolve(resource))).forEach(d -> docs.add((Map<String, Object>) d));
    }
    Map<String, Map<String, Object>> byKind = new LinkedHashMap<>();
    docs.forEach(d -> byKind.putIfAbsent(d.get("kind") + "/" + name(d), d));
    assertThat(byKind).containsKeys(
        "Deployment/nightshift-server", "Service/nightshift-server", "Secret/nightshift-server",
        "ConfigMap/nightshift-server", "StatefulSet/nightshift-mysql", "Service/nightshift-mysql");

    Map<String, String> config = (Map<String, String>) byKind.get("ConfigMap/nightshift-server").get("data");
    config.forEach((k, v) -> assertServerSetting(k, v, "ConfigMap"));
    Map<String, Object> container = serverContainer(byKind.get("Deployment/nightshift-server"));
    for (Map<String, Object> e : (List<Map<String, Object>>) container.get("env")) {
      assertServerSetting((String) e.get("name"), "sample-secret", "Deployment env");
      Map<String, Object> ref = (Map<String, Object>) ((Map<String, Object>) e.get("valueFrom")).get("secretKeyRef");
      Map<String, String> secret = (Map<String, String>) byKind.get("Secret/nightshift-server").get("stringData");
      assertThat(secret).containsKey((String) ref.get("key"));
    }
    Map<String, Object> port = ((List<Map<String, Object>>) container.get("ports")).get(0);
    assertThat(String.valueOf(port.get("containerPort"))).isEqualTo(config.get("SERVER_PORT"));
    for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
      Map<String, Object> get = (Map<String, Object>) ((Map<String, Object>) container.get(probe)).get("httpGet");
      assertThat(get.get("port")).as(probe).isEqualTo(port.get("name"));
      assertThat((String) get.get("path")).as(probe + " (AgentInstallIT asks a real server)").startsWith("/actuator/health/");
    }
    Map<String, Object> service = (Map<String, Object>) byKind.get("Service/nightshift-server").get("spec");
    assertThat(((List<Map<String, Object>>) service.get("ports")).get(0).get("targetPort")).isEqualTo(port.get("name"));
    URI db = URI.create(config.get("SPRING_DATASOURCE_URL").substring("jdbc:".length()));
    assertThat(byKind).containsKey("Service/" + db.getHost());

    assumeTrue(has("kubectl"), "kubectl is not installed here: the manifests were checked by the parser only");
    Result rendered = run(List.of("kubectl", "kustomize", dir.toString()), ROOT);
    assertThat(rendered.exitCode).as(rendered.output).isZero();
    List<String> kinds = new ArrayList<>();
    new Yaml().loadAll(rendered.output).forEach(d -> kinds.add((String) ((Map<String, Object>) d).get("kind")));
    assertThat(kinds).contains("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "StatefulSet");
    assertThat(rendered.output).contains("namespace: nightshift");
  }

  /** The health paths the Kubernetes probes ask; AgentInstallIT requests each from a real server. */
  @SuppressWarnings("unchecked")
  static Set<String> probePaths() throws IOException {
    Set<String> paths = new TreeSet<>();
    for (Object d : new Yaml().loadAll(Files.readString(DEPLOY.resolve("kubernetes/server.yaml")))) {
      Map<String, Object> doc = (Map<String, Object>) d;
      if ("Deployment".equals(doc.get("kind"))) {
        Map<String, Object> c = serverContainer(doc);
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
          paths.add((String) ((Map<String, Object>) ((Map<String, Object>) c.get(probe)).get("httpGet")).get("path"));
        }
      }
    }
    return paths;
  }

  @Test
  void systemdUnitsStartRealOptionsWithRealSettings() throws Exception {
    Set<String> options = agentOptions();
    for (String file : List.of("nightshift-agent.service", "nightshift-agent-confined.service")) {
      // the confined unit runs 'run' directly: its agent moves itself into a leaf control group, which a launcher
      // process left in the service's group would forbid (cgroup v2: no processes in inner groups)
      Map<String, String> agent = unit(DEPLOY.resolve("systemd/" + file));
      List<String> exec = List.of(agent.get("ExecStart").split("\\s+"));
      assertThat(exec.get(exec.indexOf("-jar") + 1)).endsWith("/" + finalName("worker-agent") + ".jar");
      List<String> args = exec.subList(exec.indexOf("-jar") + 2, exec.size());
      if (args.get(0).equals("launch")) { // the self-updating launcher around the agent's 'run'
        assertThat(args.subList(0, args.indexOf("--"))).containsExactly("launch", "--data", agent.get("ReadWritePaths"));
        args = args.subList(args.indexOf("--") + 1, args.size());
      }
      assertThat(args.get(0)).isEqualTo("run");
      args.stream().filter(a -> a.startsWith("-")).forEach(a -> assertThat(options).as(file + ": agent option")
          .contains(a));
      assertThat(agent.get("ReadWritePaths")).isEqualTo(args.get(args.indexOf("--data-dir") + 1));
      assertThat(agent.get("EnvironmentFile")).isEqualTo("/etc/nightshift/agent.env");
    }
    properties(DEPLOY.resolve("systemd/nightshift-agent.env.example"))
        .keySet()
        .forEach(k -> assertAgentSetting(k, "nightshift-agent.env.example"));

    Map<String, String> server = unit(DEPLOY.resolve("systemd/nightshift-server.service"));
    assertThat(server.get("ExecStart")).endsWith("-jar /opt/nightshift/" + finalName("control-server") + ".jar");
    assertThat(server.get("EnvironmentFile")).isEqualTo("/etc/nightshift/server.env");
    Map<String, String> serverEnv = properties(DEPLOY.resolve("systemd/nightshift-server.env.example"));
    serverEnv.forEach((k, v) -> assertServerSetting(k, v, "nightshift-server.env.example"));
    assertThat(server.get("ReadWritePaths")).isEqualTo(serverEnv.get("NIGHTSHIFT_DATA_DIR"));

    assumeTrue(has("systemd-analyze"), "systemd-analyze is not installed here: the units were checked by the parser only");
    Result r = run(List.of("systemd-analyze", "verify",
        DEPLOY.resolve("systemd/nightshift-agent.service").toString(),
        DEPLOY.resolve("systemd/nightshift-agent-confined.service").toString(),
        DEPLOY.resolve("systemd/nightshift-server.service").toString()), ROOT);
    assertThat(r.exitCode).as(r.output).isZero();
  }

  @Test
  void dockerfilesCopyWhatExistsOrWhatTheBuildMakes() throws IOException {
    for (Path f : files(DEPLOY.resolve("docker"), "Dockerfile")) {
      List<String> lines = Files.readAllLines(f);
      assertThat(lines).as(f.toString()).anyMatch(l -> l.startsWith("FROM eclipse-temurin:"));
      String copiedTo = null;
      for (String line : lines) {
        if (line.startsWith("COPY ")) {
          String[] parts = line.split("\\s+");
          String source = parts[1];
          copiedTo = parts[2];
          Matcher built = Pattern.compile("([a-z-]+)/target/([a-z-]+)\\.jar").matcher(source);
          if (built.matches()) {
            assertThat(finalName(built.group(1))).as(line).isEqualTo(built.group(2));
          } else {
            assertThat(ROOT.resolve(source)).as(line).exists();
          }
        }
      }
      assertThat(copiedTo).as(f + " copies a jar").isNotNull();
      String copied = copiedTo;
      assertThat(lines).as(f + " starts what it copied")
          .anyMatch(l -> l.startsWith("ENTRYPOINT") && l.contains("\"" + copied + "\""));
    }
  }

  @Test
  void shellScriptsParse() throws Exception {
    List<Path> scripts = new ArrayList<>(files(SCRIPTS, ".sh"));
    scripts.addAll(files(DEPLOY, ".sh"));
    assertThat(scripts).extracting(p -> p.getFileName().toString()).contains("agent.sh", "host-idle.sh");
    for (Path s : scripts) {
      Result r = run(List.of("sh", "-n", s.toString()), ROOT);
      assertThat(r.exitCode).as(s + ": " + r.output).isZero();
    }
    assumeTrue(has("shellcheck"), "shellcheck is not installed here: the scripts were checked with sh -n only");
    for (Path s : scripts) {
      Result r = run(List.of("shellcheck", "-s", "sh", s.toString()), ROOT);
      assertThat(r.exitCode).as(s + ": " + r.output).isZero();
    }
  }

  @Test
  void powerShellScriptsAreLintedWherePowerShellExists() throws Exception {
    assumeTrue(has("pwsh"), "no PowerShell (pwsh) here: install-agent.ps1 and host-idle.ps1 are untested"
        + " (docs/operations.md says so)");
    for (Path s : files(SCRIPTS, ".ps1")) {
      Result r = run(List.of("pwsh", "-NoProfile", "-Command",
          "$e=$null; [System.Management.Automation.Language.Parser]::ParseFile('" + s + "',[ref]$null,[ref]$e) | Out-Null;"
              + " if ($e) { $e | ForEach-Object { $_.ToString() }; exit 1 }"), ROOT);
      assertThat(r.exitCode).as(s + ": " + r.output).isZero();
    }
  }

  // ---- the code's settings ----------------------------------------------------------------------------------------

  /**
   * A server setting: one of Spring Boot's that deploy/ uses, or the environment form (upper case, {@code _} for
   * {@code .} and {@code -}) of a property of one of the server's {@code @ConfigurationProperties} records.
   */
  static void assertServerSetting(String name, String value, String where) {
    if (BOOT_SETTINGS.contains(name)) {
      return;
    }
    assertThat(serverSettings())
        .as(where + ": " + name + " is no setting of the server (docs/operations.md, Settings)")
        .contains(name);
  }

  static void assertAgentSetting(String name, String where) {
    Set<String> env = Stream.of(SettingsResolver.Key.values()).map(SettingsResolver.Key::envName)
        .collect(Collectors.toSet());
    env.add(SettingsResolver.CONFIG_ENV);
    assertThat(env).as(where + ": " + name + " is no setting of the agent (docs/agent.md, Settings)").contains(name);
  }

  /** Every property of the server's {@code @ConfigurationProperties} records, as environment variables. */
  static Set<String> serverSettings() {
    Set<String> names = new TreeSet<>();
    for (Class<?> type : propertiesTypes()) {
      ConfigurationProperties a = type.getAnnotation(ConfigurationProperties.class);
      collect(a.value().isEmpty() ? a.prefix() : a.value(), type, names);
    }
    return names;
  }

  private static void collect(String prefix, Class<?> type, Set<String> names) {
    for (RecordComponent c : type.getRecordComponents()) {
      String kebab = c.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
      String property = prefix + "." + kebab;
      if (c.getType().isRecord() && c.getType().getName().startsWith("dev.nightshift.")) {
        collect(property, c.getType(), names);
      } else {
        names.add(property.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_'));
      }
    }
  }

  private static List<Class<?>> propertiesTypes() {
    ClassPathScanningCandidateComponentProvider scan = new ClassPathScanningCandidateComponentProvider(false);
    scan.addIncludeFilter(new AnnotationTypeFilter(ConfigurationProperties.class));
    List<Class<?>> types = new ArrayList<>();
    scan.findCandidateComponents("dev.nightshift.server").forEach(b -> {
      try {
        types.add(Class.forName(b.getBeanClassName()));
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(types).extracting(Class::getSimpleName).contains("NightshiftProperties", "InstallProperties");
    return types;
  }

  /** The agent's command-line options, as its settings resolver names them. */
  static Set<String> agentOptions() {
    Set<String> options = Stream.of(SettingsResolver.Key.values()).map(k -> "--" + SettingsResolver.flagName(k))
        .collect(Collectors.toCollection(TreeSet::new));
    options.addAll(List.of("--config", "--verbose", "-v"));
    return options;
  }

  /** The {@code <finalName>} a module's pom gives its jar. */
  static String finalName(String module) throws IOException {
    Matcher m = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(Files.readString(ROOT.resolve(module + "/pom.xml")));
    assertThat(m.find()).as(module + " names its jar").isTrue();
    return m.group(1);
  }

  // ---- reading files ----------------------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(Path f) throws IOException {
    return (Map<String, Object>) new Yaml().load(Files.readString(f));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> env(Map<String, Object> service) {
    Map<String, String> env = new LinkedHashMap<>();
    ((Map<String, Object>) service.get("environment")).forEach((k, v) -> env.put(k, String.valueOf(v)));
    return env;
  }

  @SuppressWarnings("unchecked")
  private static void assertDockerBuild(Map<String, Object> service, String dockerfile) {
    Map<String, Object> build = (Map<String, Object>) service.get("build");
    Path context = DEPLOY.resolve("compose").resolve((String) build.get("context")).normalize();
    assertThat(context).isEqualTo(ROOT);
    assertThat(context.resolve((String) build.get("dockerfile"))).exists().hasFileName(dockerfile);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> serverContainer(Map<String, Object> deployment) {
    Map<String, Object> pod = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) deployment
        .get("spec")).get("template")).get("spec");
    return ((List<Map<String, Object>>) pod.get("containers")).get(0);
  }

  @SuppressWarnings("unchecked")
  private static String name(Map<String, Object> doc) {
    return (String) ((Map<String, Object>) doc.get("metadata")).get("name");
  }

  /** KEY=VALUE lines, comments and blank lines skipped (commented-out examples are checked too). */
  static Map<String, String> properties(Path f) throws IOException {
    Map<String, String> p = new LinkedHashMap<>();
    for (String line : Files.readAllLines(f)) {
      String l = line.startsWith("#") && line.matches("#[A-Z_]+=.*") ? line.substring(1) : line;
      if (!l.isBlank() && !l.startsWith("#")) {
        p.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1));
      }
    }
    return p;
  }

  /** A systemd unit's keys (continuation lines joined; the last of a repeated key wins). */
  static Map<String, String> unit(Path f) throws IOException {
    Map<String, String> keys = new LinkedHashMap<>();
    String joined = Files.readString(f).replace("\\\n", " ");
    for (String line : joined.split("\n")) {
      if (!line.startsWith("#") && !line.startsWith("[") && line.contains("=")) {
        keys.put(line.substring(0, line.indexOf('=')).trim(), line.substring(line.indexOf('=') + 1).trim());
      }
    }
    return keys;
  }

  static List<Path> files(Path dir, String... endings) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> Stream.of(endings).anyMatch(e -> p.getFileName().toString().endsWith(e)))
          .sorted()
          .toList();
    }
  }

  record Result(int exitCode, String output) {}

  static boolean has(String command) throws Exception {
    return run(List.of("sh", "-c", "command -v " + command), ROOT).exitCode == 0;
  }

  static Result run(List<String> command, Path dir) throws Exception {
    Process p;
    try {
      p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException notInstalled) {
      return new Result(127, notInstalled.getMessage());
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(command + " did not end within 120 s");
    }
    return new Result(p.exitValue(), out);
  }
}
