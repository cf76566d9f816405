-- Reference data (docs/reference-data.md): a worker's local replica as its agent last reported it, a job's
-- freshness rule, and the data position each attempt ran against.
-- worker.data_state: the agent's last DataState as JSON ({"replicating":..,"lagSeconds":..,"position":..,"error":..});
-- NULL when the agent has no data source. data_checked_at: when that heartbeat arrived.
ALTER TABLE worker
  ADD COLUMN data_state      TEXT        NULL,
  ADD COLUMN data_checked_at DATETIME(6) NULL;

-- A job's freshness rule: its batches go only to workers whose replica runs, lags at most max_data_lag_seconds
-- and/or has applied at least min_data_position (a GTID position). Both NULL: any worker.
ALTER TABLE job
  ADD COLUMN max_data_lag_seconds INT           NULL,
  ADD COLUMN min_data_position    VARCHAR(2000) NULL;

-- What the agent probed just before the script started: the GTID position and the lag.
ALTER TABLE attempt
  ADD COLUMN data_position    VARCHAR(2000) NULL,
  ADD COLUMN data_lag_seconds BIGINT        NULL;
