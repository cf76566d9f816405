-- The claim reads a job's pending batches in id order and takes the first whose back-off has passed
-- (not_before <= now). With not_before outside ix_batch_claim, every backed-off batch ahead of the first due one cost
-- a read of its row (3,000 requeued batches of a job: 3,011 rows read for LIMIT 10, in every claim while they wait).
-- With not_before in the index the database filters them inside the index (index condition pushdown), reading and
-- locking only the rows it returns. The order stays id order: a retried batch goes first once due, so a job's
-- failures show early instead of after all its fresh batches. The (job_id, state, id) prefix is unchanged, so every
-- other user of the index (sweeps, dashboard, paging by state) keeps its plan.
ALTER TABLE batch
  DROP KEY ix_batch_claim,
  ADD KEY ix_batch_claim (job_id, state, id, not_before);
