-- An admin's order to drain a worker: it finishes what it runs and claims nothing new until resumed.
-- NULL = not drained. Every heartbeat reply carries DRAIN while it is set; claims are answered empty.
ALTER TABLE worker
  ADD COLUMN drained_at DATETIME(6)  NULL,
  ADD COLUMN drained_by VARCHAR(100) NULL;
