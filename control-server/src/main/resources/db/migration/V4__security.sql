-- Security: API tokens for scripts and CI, worker instance tracking (one live agent per identity), and the audit
-- trail of every state-changing action.

-- A token acts as its owner with at most the owner's role. Only the SHA-256 of the token is kept.
CREATE TABLE api_token (
  id           BIGINT       NOT NULL AUTO_INCREMENT,
  token_hash   CHAR(64)     NOT NULL,
  name         VARCHAR(200) NOT NULL,
  username     VARCHAR(100) NOT NULL,
  role         VARCHAR(20)  NOT NULL,
  created_by   VARCHAR(100) NOT NULL,
  created_at   DATETIME(6)  NOT NULL,
  expires_at   DATETIME(6)  NULL,
  last_used_at DATETIME(6)  NULL,
  revoked_at   DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_api_token_hash (token_hash),
  KEY ix_api_token_user (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The agent process currently using a worker's identity (a random id per process) and where it calls from:
-- a second process with the same identity (a cloned VM) is refused while the first keeps calling.
ALTER TABLE worker
  ADD COLUMN instance_id      VARCHAR(64)  NULL,
  ADD COLUMN instance_address VARCHAR(100) NULL,
  ADD COLUMN instance_seen_at DATETIME(6)  NULL,
  ADD COLUMN revoked_by       VARCHAR(100) NULL;

-- Who did what, to what, when and from where. Newest first by id (keyset paging).
CREATE TABLE audit (
  id          BIGINT        NOT NULL AUTO_INCREMENT,
  at          DATETIME(6)   NOT NULL,
  actor       VARCHAR(100)  NOT NULL,
  via         VARCHAR(20)   NOT NULL,
  action      VARCHAR(200)  NOT NULL,
  target      VARCHAR(500)  NULL,
  status      INT           NOT NULL,
  outcome     VARCHAR(1000) NULL,
  address     VARCHAR(100)  NULL,
  PRIMARY KEY (id),
  KEY ix_audit_actor (actor, id),
  KEY ix_audit_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
