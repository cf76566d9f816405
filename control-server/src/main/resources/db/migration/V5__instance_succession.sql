-- A restarted agent takes its identity over at once by naming the process that ran on its data dir before it
-- (instance_previous). If that previous process calls again after the takeover, the successor was a copy of the
-- data dir (a cloned VM image): its instance id is kept in cloned_instance and refused until it enrolls anew.
ALTER TABLE worker
  ADD COLUMN instance_previous VARCHAR(64) NULL,
  ADD COLUMN instance_taken_at DATETIME(6) NULL,
  ADD COLUMN cloned_instance   VARCHAR(64) NULL;
