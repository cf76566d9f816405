package dev.nightshift.protocol;

/**
 * What an agent tells the server about its machine.
 *
 * @param hostname the machine's host name
 * @param os operating system name and version
 * @param arch CPU architecture
 * @param cpus logical processors
 * @param memoryBytes physical memory, 0 when unknown
 * @param agentVersion the agent's own version
 * @param javaVersion the Java runtime running the agent
 */
public record HostFacts(
    String hostname, String os, String arch, int cpus, long memoryBytes, String agentVersion, String javaVersion) {}
