-- Agent self-update (issue 12): which workers a heartbeat reply offers the server's agent build to. One row.
-- mode HOLD = offer it to none, CANARY = to the workers whose id hashes below share_percent (a stable share), ALL =
-- to every worker whose agent runs another version. Starts at ALL: the server keeps its agents current.
CREATE TABLE agent_rollout (
  id            TINYINT      NOT NULL PRIMARY KEY,
  mode          VARCHAR(10)  NOT NULL,
  share_percent INT          NOT NULL DEFAULT 0,
  changed_by    VARCHAR(100) NULL,
  changed_at    DATETIME(6)  NULL,
  CONSTRAINT agent_rollout_single CHECK (id = 1),
  CONSTRAINT agent_rollout_share CHECK (share_percent BETWEEN 0 AND 100)
);
INSERT INTO agent_rollout (id, mode, share_percent) VALUES (1, 'ALL', 0);

-- The agent version a worker's launcher tried and rolled back (it did not heartbeat in time, or crashed): never
-- offered to that worker again. agent_version (V1) is now also kept current by every heartbeat.
ALTER TABLE worker ADD COLUMN agent_refused VARCHAR(100) NULL;
