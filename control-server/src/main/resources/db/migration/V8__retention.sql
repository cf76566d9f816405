-- Retention (docs/operations.md): a finished job's inputs, results and attempts are purged some time after it
-- finished; the job row stays with its counters and versions. retention_seconds is the job's own period (NULL = the
-- server's nightshift.retention.finished-jobs). purged_at is when purging began (from then on the results answer
-- 410 Gone); purge_done says every row is gone, so a purge interrupted by a restart is finished by the next run.
ALTER TABLE job
  ADD COLUMN retention_seconds BIGINT      NULL,
  ADD COLUMN purged_at         DATETIME(6) NULL,
  ADD COLUMN purge_done        BOOLEAN     NOT NULL DEFAULT FALSE,
  ADD KEY ix_job_purge (purge_done, finished_at);
