package dev.nightshift.protocol;

/**
 * The agent build a heartbeat reply offers in place of the running one (docs/operations.md, "Upgrading agents").
 * An agent started by its launcher downloads it, checks the digest, finishes its batches and restarts into it; any
 * other agent ignores it.
 *
 * @param version the offered agent's version (its jar's Implementation-Version)
 * @param sha256 lower-case hex SHA-256 of the jar's bytes; a download with another digest is refused
 * @param url where to download the jar: a path on the server the agent talks to ({@code /install/...}), or an
 *     absolute URL
 */
public record AgentOffer(String version, String sha256, String url) {}
