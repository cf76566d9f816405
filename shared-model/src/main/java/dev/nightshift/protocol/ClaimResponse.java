package dev.nightshift.protocol;

import java.util.List;

/** The leases granted by a claim; empty when no work appeared within the wait. */
public record ClaimResponse(List<Lease> leases) {}
