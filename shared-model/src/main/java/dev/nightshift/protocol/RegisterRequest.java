package dev.nightshift.protocol;

import java.util.Map;

/**
 * Enrollment of an agent.
 *
 * @param enrollmentToken the enrollment token handed out by an admin (never stored by the agent after enrollment)
 * @param name a human-friendly worker name, defaults to the host name
 * @param host facts about the machine, shown to operators
 * @param slots how many batches the agent runs at once
 * @param labels capabilities jobs can require, e.g. {@code os=linux}
 */
public record RegisterRequest(
    String enrollmentToken, String name, HostFacts host, int slots, Map<String, String> labels) {}
