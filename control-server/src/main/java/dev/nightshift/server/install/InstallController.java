package dev.nightshift.server.install;

import dev.nightshift.server.system.ProblemException;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

/**
 * The agent downloads: the agent jar this server was built with, its SHA-256, the Linux x64 runtime bundle (a Java
 * for machines without one), and the install scripts and host companions with this server's URL filled in. Open to anyone (docs/operations.md, "Rolling out agents"): the jar
 * is the released agent, not a secret, and nothing served here carries a token; the enrollment token is checked
 * apart ({@code POST /install/enrollment-check}) and only the machines that have it can enroll.
 */
@RestController
class InstallController {
  static final String JAR = "nightshift-agent.jar";
  /** The scripts served, each with the server's URL written in place of {@link #SERVER_PLACEHOLDER}. */
  static final List<String> SCRIPTS = List.of("agent.sh", "install-agent.ps1", "host-idle.sh", "host-idle.ps1");

  static final String SERVER_PLACEHOLDER = "@NIGHTSHIFT_SERVER@";
  /** What may be written into a script as the server's URL: no quote, space, backtick or dollar. */
  private static final Pattern SAFE_URL =
      Pattern.compile("https?://(?:[A-Za-z0-9.\\-]+|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~\\-/]*)?");

  private final AgentDownload agent;
  private final InstallProperties properties;

  InstallController(AgentDownload agent, InstallProperties properties) {
    this.agent = agent;
    this.properties = properties;
  }

  @io.swagger.v3.oas.annotations.Operation(
      summary = "Download the agent",
      description = "The agent jar this server was built with (no login): the Nightshift-Agent-Version header names its version, the ETag is its SHA-256.",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the jar")
      })
  @GetMapping("/install/" + JAR)
  ResponseEntity<StreamingResponseBody> jar() {
    AgentDownload.Served served = served();
    return download("application/java-archive", JAR, served.sha256(), served.size())
        .header("Nightshift-Agent-Version", served.version())
        .body(body(agent::open));
  }

  /** In {@code sha256sum}'s format, so {@code sha256sum -c} checks a download next to it. */
  @io.swagger.v3.oas.annotations.Operation(
      summary = "The agent jar's SHA-256",
      description = "The served agent jar's SHA-256 in sha256sum format (no login).",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the sum and the file name")
      })
  @GetMapping(value = "/install/" + JAR + ".sha256", produces = MediaType.TEXT_PLAIN_VALUE)
  ResponseEntity<String> sha256() {
    return sumFile(served().sha256(), JAR);
  }

  @io.swagger.v3.oas.annotations.Operation(
      summary = "Download the agent's runtime bundle (Linux x64)",
      description = "A minimal Java runtime for the agent, made with jlink when the server was built (no login): a"
          + " tar.gz of bin/java, lib/... that agent.sh unpacks when a machine has no Java 17. The ETag is its SHA-256."
          + " 404 when this server was built without one (not on Linux x64, or with -DskipAgentRuntime).",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the tarball"),
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "404", description = "this server has no runtime bundle")
      })
  @GetMapping("/install/" + AgentDownload.RUNTIME)
  ResponseEntity<StreamingResponseBody> runtime() {
    AgentDownload.ServedRuntime served = servedRuntime();
    return download("application/gzip", AgentDownload.RUNTIME, served.sha256(), served.size())
        .body(body(agent::openRuntime));
  }

  /** In {@code sha256sum}'s format, so {@code sha256sum -c} checks a download next to it. */
  @io.swagger.v3.oas.annotations.Operation(
      summary = "The runtime bundle's SHA-256",
      description = "The served runtime bundle's SHA-256 in sha256sum format (no login); 404 when there is none.",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the sum and the file name"),
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "404", description = "this server has no runtime bundle")
      })
  @GetMapping(value = "/install/" + AgentDownload.RUNTIME + ".sha256", produces = MediaType.TEXT_PLAIN_VALUE)
  ResponseEntity<String> runtimeSha256() {
    return sumFile(servedRuntime().sha256(), AgentDownload.RUNTIME);
  }

  /** The bytes to open for a download. */
  private interface Opener {
    InputStream open() throws IOException;
  }

  /** A served file's headers: its type, size, SHA-256 as the ETag, its name, revalidated at every use. */
  private static ResponseEntity.BodyBuilder download(
      String contentType, String fileName, String sha256, long size) {
    return ResponseEntity.ok()
        .contentType(MediaType.parseMediaType(contentType))
        .contentLength(size)
        .eTag("\"" + sha256 + "\"")
        .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + fileName + "\"")
        .cacheControl(CacheControl.noCache());
  }

  private static StreamingResponseBody body(Opener opener) {
    return out -> {
      try (InputStream in = opener.open()) {
        in.transferTo(out);
      }
    };
  }

  /** In {@code sha256sum}'s format, so {@code sha256sum -c} checks a download next to it. */
  private static ResponseEntity<String> sumFile(String sha256, String fileName) {
    return ResponseEntity.ok().cacheControl(CacheControl.noCache()).body(sha256 + "  " + fileName + "\n");
  }

  @io.swagger.v3.oas.annotations.Operation(
      summary = "The install manifest",
      description = "The served agent's version, SHA-256 and size, the Linux x64 runtime bundle's (null when this server has none), and the URLs of the jar, the bundle and the install scripts (no login).",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the manifest")
      })
  @GetMapping("/install/manifest.json")
  ResponseEntity<Map<String, Object>> manifest(HttpServletRequest request) {
    AgentDownload.Served served = served();
    String base = serverUrl(request) + "/install/";
    Map<String, Object> jar = new LinkedHashMap<>();
    jar.put("version", served.version());
    jar.put("sha256", served.sha256());
    jar.put("size", served.size());
    jar.put("url", base + JAR);
    Map<String, Object> scripts = new LinkedHashMap<>();
    SCRIPTS.forEach(s -> scripts.put(s, base + s));
    Map<String, Object> runtime =
        agent
            .servedRuntime()
            .<Map<String, Object>>map(
                r -> {
                  Map<String, Object> m = new LinkedHashMap<>();
                  m.put("platform", AgentDownload.RUNTIME_PLATFORM);
                  m.put("sha256", r.sha256());
                  m.put("size", r.size());
                  m.put("url", base + AgentDownload.RUNTIME);
                  return m;
                })
            .orElse(null);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("agent", jar);
    body.put("runtime", runtime);
    body.put("scripts", scripts);
    return ResponseEntity.ok().cacheControl(CacheControl.noCache()).body(body);
  }

  @io.swagger.v3.oas.annotations.Operation(
      summary = "Download an install script",
      description = "An install script with this server's URL filled in (no login): agent.sh (Linux, macOS), install-agent.ps1 (Windows), host-idle.sh and host-idle.ps1 (host companions for agents in VMs). See docs/operations.md, Rolling out agents.",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the script"),
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "404", description = "no such script"),
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "400", description = "the server's URL is not safe to put in a script")
      })
  @GetMapping("/install/{script:[a-z\\-]+\\.(?:sh|ps1)}")
  ResponseEntity<String> script(
      @io.swagger.v3.oas.annotations.Parameter(
              description = "agent.sh, install-agent.ps1, host-idle.sh or host-idle.ps1", example = "agent.sh")
          @PathVariable
          String script,
      HttpServletRequest request) {
    if (!SCRIPTS.contains(script)) {
      throw ProblemException.notFound("install script", script + " (there are " + String.join(", ", SCRIPTS) + ")");
    }
    String text;
    try (InputStream in = new ClassPathResource("install/" + script).getInputStream()) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return ResponseEntity.ok()
        .contentType(new MediaType("text", script.endsWith(".sh") ? "x-shellscript" : "plain", StandardCharsets.UTF_8))
        .cacheControl(CacheControl.noStore())
        .body(text.replace(SERVER_PLACEHOLDER, serverUrl(request)));
  }

  private AgentDownload.Served served() {
    return agent
        .served()
        .orElseThrow(
            () ->
                new ProblemException(
                    HttpStatus.NOT_FOUND,
                    "No agent to serve",
                    "this server has no agent jar (" + agent.source() + "): build it with ./mvnw package (the"
                        + " build copies worker-agent/target/nightshift-agent.jar into the server jar), or set"
                        + " NIGHTSHIFT_INSTALL_AGENT_JAR to an agent jar's path"));
  }

  private AgentDownload.ServedRuntime servedRuntime() {
    return agent
        .servedRuntime()
        .orElseThrow(
            () ->
                new ProblemException(
                    HttpStatus.NOT_FOUND,
                    "No runtime bundle to serve",
                    "this server has no agent runtime bundle (" + agent.runtimeSource() + "): the build makes it on"
                        + " Linux x64 unless -DskipAgentRuntime is given (./mvnw package puts"
                        + " worker-agent/target/" + AgentDownload.RUNTIME + " into the server jar), or set"
                        + " NIGHTSHIFT_INSTALL_AGENT_RUNTIME to such a tarball's path (sh deploy/jlink/agent-runtime.sh"
                        + " makes one). Machines with Java 17 or newer do not need it"));
  }

  /** The URL agents reach this server at: the configured one, else the one this request came in on. */
  private String serverUrl(HttpServletRequest request) {
    String url;
    if (properties.serverUrl() != null) {
      url = properties.serverUrl().toString();
    } else {
      String scheme = request.getScheme();
      int port = request.getServerPort();
      boolean defaultPort = ("http".equals(scheme) && port == 80) || ("https".equals(scheme) && port == 443);
      String host = request.getServerName();
      if (host.contains(":") && !host.startsWith("[")) {
        host = "[" + host + "]";
      }
      url = scheme + "://" + host + (defaultPort ? "" : ":" + port) + request.getContextPath();
    }
    url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    if (!SAFE_URL.matcher(url).matches()) {
      throw ProblemException.badRequest(
          "the server's URL as this request names it (" + url.replaceAll("[^\\x20-\\x7e]", "?") + ") cannot be"
              + " written into an install script: call it by a plain host name or address, or set"
              + " NIGHTSHIFT_INSTALL_SERVER_URL");
    }
    return url;
  }
}
