-- Every enrollment asks whether a worker of that name was revoked (WorkerService.register). Without an index on
-- name that read the whole worker table, every worker that ever enrolled, once per enrollment: 5,000 desktops
-- re-enrolling after a reinstall read 25 million rows. Names change only on enrollment, so the index costs nothing on
-- the agent path.
ALTER TABLE worker ADD KEY ix_worker_name (name, revoked_at);
