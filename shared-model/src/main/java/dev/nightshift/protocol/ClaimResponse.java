package dev.nightshift.protocol;

import java.util.List;

/**
 * The leases granted by a claim; empty when no work appeared within the wait.
 *
 * @param leases the batches leased to the agent
 * @param release the current promoted code, or null when none exists; a promotion answers parked claims at once
 *     (with no leases) so idle agents fetch the new release right away
 */
public record ClaimResponse(List<Lease> leases, CodeRelease release) {
  public ClaimResponse(List<Lease> leases) {
    this(leases, null);
  }
}
