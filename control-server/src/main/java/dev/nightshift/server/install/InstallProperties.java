package dev.nightshift.server.install;

import java.net.URI;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the agent downloads under {@code /install/}.
 *
 * @param agentJar the agent jar to serve instead of the one built into the server jar (e.g. a patched agent);
 *     unset = {@code install/nightshift-agent.jar} on the classpath, which the build puts there
 * @param agentRuntime the Linux x64 runtime bundle (a tar.gz of a jlink'ed Java) to serve instead of the one built into
 *     the server jar; unset = {@code install/nightshift-agent-runtime-linux-x64.tar.gz} on the classpath, which the
 *     build puts there on Linux x64
 * @param serverUrl the server's URL as agents reach it, written into the install scripts; unset = the scheme, host
 *     and port the script was downloaded with (set it behind a proxy that rewrites them)
 */
@ConfigurationProperties("nightshift.install")
public record InstallProperties(Path agentJar, Path agentRuntime, URI serverUrl) {}
