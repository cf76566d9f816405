package dev.nightshift.server.jobs;

import java.util.Map;

/** A validated job submission, with defaults applied. */
record JobSpec(
    String name,
    String command,
    int batchSize,
    int priority,
    int maxAttempts,
    int timeoutSeconds,
    Integer maxParallel,
    Map<String, String> env,
    Map<String, String> labels,
    String commit,
    Integer maxDataLagSeconds,
    String minDataPosition,
    /** How long after finishing the job's data is kept; null = the server's default. */
    java.time.Duration retention,
    /** For the script's environment, sealed at rest ({@link JobSecrets}); empty when none. */
    Map<String, String> secrets,
    /** The release's entry point to run instead of a command, or null. */
    String entryPoint,
    /** The entry point's arguments (empty when none), or null with a command. */
    java.util.List<String> args) {}
