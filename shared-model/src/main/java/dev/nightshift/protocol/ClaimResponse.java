package dev.nightshift.protocol;

import java.util.List;

/**
 * The leases granted by a claim (empty when no work appeared within the wait), and what became of each report the
 * claim carried.
 *
 * @param leases the batches leased to the agent
 * @param release the current promoted code, or null when none exists; a promotion answers parked claims at once
 *     (with no leases) so idle agents fetch the new release right away
 * @param reports one answer per report the claim carried, completions first, each in the order sent; null or empty
 *     when it carried none
 */
public record ClaimResponse(List<Lease> leases, CodeRelease release, List<ReportAnswer> reports) {
  public ClaimResponse(List<Lease> leases) {
    this(leases, null, List.of());
  }

  public ClaimResponse(List<Lease> leases, CodeRelease release) {
    this(leases, release, List.of());
  }
}
