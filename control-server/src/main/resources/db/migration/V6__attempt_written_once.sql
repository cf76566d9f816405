-- An attempt row is written once, when its lease ends (success, failure, release, expiry, cancellation), instead of
-- inserted RUNNING at the lease and updated at its end: a running attempt is its batch row (state LEASED, the lease
-- columns), which now also names the lease's commit and version. One row write and one index-heavy insert less per
-- batch.
ALTER TABLE batch
  ADD COLUMN lease_commit  VARCHAR(64)  NULL,
  ADD COLUMN lease_version VARCHAR(200) NULL;

-- Leases running during the upgrade keep their commit and version on the batch row; their RUNNING attempt rows go
-- (the end of the lease writes the attempt, as for every new lease).
UPDATE batch b JOIN attempt a ON a.lease_token = b.lease_token
  SET b.lease_commit = a.commit_sha, b.lease_version = a.version
  WHERE b.state = 'LEASED' AND a.outcome = 'RUNNING';
DELETE FROM attempt WHERE outcome = 'RUNNING';

-- The accepted result's attempt is the batch's one SUCCEEDED attempt; the column was written, never read, and
-- would need the attempt's id inside the same group transaction.
ALTER TABLE batch_result DROP COLUMN attempt_id;

-- No query reads attempts by worker (a worker's current work is its leased batches, ix_batch_worker); the index
-- cost an entry on every attempt written.
ALTER TABLE attempt DROP INDEX ix_attempt_worker;
