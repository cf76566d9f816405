package dev.nightshift.protocol;

import java.util.List;

/**
 * Leases given back.
 *
 * @param leases the leases
 * @param reason why (shutdown, owner returned, ...), recorded on the attempt
 */
public record ReleaseRequest(List<LeaseRef> leases, String reason) {}
