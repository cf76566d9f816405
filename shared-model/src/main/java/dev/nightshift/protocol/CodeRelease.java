package dev.nightshift.protocol;

/**
 * A promoted commit.
 *
 * @param commit full commit id
 * @param version the version tag at that commit
 */
public record CodeRelease(String commit, String version) {}
