-- Optional approval of new enrollments (issue 11; nightshift.security.enrollment-approval=true): a worker enrolled
-- while approval is required claims nothing (every heartbeat reply says DRAIN, with the reason) until an admin
-- approves it. NULL approval_pending_at = approved (or enrolled while approval was not required).
ALTER TABLE worker
  ADD COLUMN approval_pending_at DATETIME(6)  NULL,
  ADD COLUMN approved_at         DATETIME(6)  NULL,
  ADD COLUMN approved_by         VARCHAR(100) NULL;
