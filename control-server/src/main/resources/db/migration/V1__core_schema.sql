-- Nightshift core schema. Works on MySQL 8.0+ and MariaDB 10.6+ (both have FOR UPDATE SKIP LOCKED).
-- Timestamps are UTC, written by the application from its injected clock (never NOW()), so tests can move time.

CREATE TABLE app_user (
  id            BIGINT       NOT NULL AUTO_INCREMENT,
  username      VARCHAR(100) NOT NULL,
  password_hash VARCHAR(100) NOT NULL,
  role          VARCHAR(20)  NOT NULL,
  enabled       BOOLEAN      NOT NULL DEFAULT TRUE,
  created_at    DATETIME(6)  NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_app_user_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE enrollment_token (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  token_hash  CHAR(64)     NOT NULL,
  description VARCHAR(200) NULL,
  created_by  VARCHAR(100) NOT NULL,
  created_at  DATETIME(6)  NOT NULL,
  expires_at  DATETIME(6)  NULL,
  max_uses    INT          NULL,
  uses        INT          NOT NULL DEFAULT 0,
  revoked_at  DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_enrollment_token_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE worker (
  id                CHAR(36)     NOT NULL,
  name              VARCHAR(200) NOT NULL,
  token_hash        CHAR(64)     NOT NULL,
  hostname          VARCHAR(255) NULL,
  os                VARCHAR(200) NULL,
  arch              VARCHAR(50)  NULL,
  cpus              INT          NULL,
  memory_bytes      BIGINT       NULL,
  agent_version     VARCHAR(100) NULL,
  java_version      VARCHAR(100) NULL,
  labels            TEXT         NOT NULL,
  slots             INT          NOT NULL,
  free_slots        INT          NOT NULL,
  state             VARCHAR(20)  NOT NULL,
  state_reason      VARCHAR(500) NULL,
  commit_sha        VARCHAR(64)  NULL,
  registered_at     DATETIME(6)  NOT NULL,
  last_heartbeat_at DATETIME(6)  NULL,
  revoked_at        DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_worker_token_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A job keeps counters of its batches by state, updated in the same transaction as every batch transition,
-- so no page ever counts batches.
CREATE TABLE job (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  name            VARCHAR(200) NOT NULL,
  command         TEXT         NOT NULL,
  state           VARCHAR(20)  NOT NULL,
  priority        INT          NOT NULL,
  batch_size      INT          NOT NULL,
  max_attempts    INT          NOT NULL,
  timeout_seconds INT          NOT NULL,
  max_parallel    INT          NULL,
  env             TEXT         NOT NULL,
  labels          TEXT         NOT NULL,
  commit_sha      VARCHAR(64)  NULL,
  input_kind      VARCHAR(10)  NOT NULL,
  item_count      BIGINT       NOT NULL,
  batch_count     INT          NOT NULL,
  pending_count   INT          NOT NULL,
  leased_count    INT          NOT NULL DEFAULT 0,
  succeeded_count INT          NOT NULL DEFAULT 0,
  dead_count      INT          NOT NULL DEFAULT 0,
  cancelled_count INT          NOT NULL DEFAULT 0,
  succeeded_items BIGINT       NOT NULL DEFAULT 0,
  submitted_by    VARCHAR(100) NOT NULL,
  created_at      DATETIME(6)  NOT NULL,
  started_at      DATETIME(6)  NULL,
  finished_at     DATETIME(6)  NULL,
  updated_at      DATETIME(6)  NOT NULL,
  PRIMARY KEY (id),
  KEY ix_job_state (state, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The unit an agent claims. ix_batch_claim serves the claim's ORDER BY id for one job and state, so InnoDB
-- locks only the rows it returns; ix_batch_lease serves the reaper.
CREATE TABLE batch (
  id               BIGINT      NOT NULL AUTO_INCREMENT,
  job_id           BIGINT      NOT NULL,
  seq              INT         NOT NULL,
  state            VARCHAR(10) NOT NULL,
  item_count       INT         NOT NULL,
  range_start      BIGINT      NULL,
  range_end        BIGINT      NULL,
  attempts         INT         NOT NULL DEFAULT 0,
  failures         INT         NOT NULL DEFAULT 0,
  not_before       DATETIME(6) NOT NULL,
  worker_id        CHAR(36)    NULL,
  lease_token      CHAR(43)    NULL,
  leased_at        DATETIME(6) NULL,
  lease_expires_at DATETIME(6) NULL,
  lease_deadline   DATETIME(6) NULL,
  finished_at      DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_batch_job_seq (job_id, seq),
  KEY ix_batch_claim (job_id, state, id),
  KEY ix_batch_lease (state, lease_expires_at),
  KEY ix_batch_worker (worker_id, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Items of a batch as NDJSON, apart from the batch row so claim scans stay narrow.
CREATE TABLE batch_input (
  job_id BIGINT     NOT NULL,
  seq    INT        NOT NULL,
  items  MEDIUMTEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One run of a batch. The lease token identifies it; reports are matched by token.
CREATE TABLE attempt (
  id           BIGINT        NOT NULL AUTO_INCREMENT,
  batch_id     BIGINT        NOT NULL,
  job_id       BIGINT        NOT NULL,
  number       INT           NOT NULL,
  worker_id    CHAR(36)      NOT NULL,
  lease_token  CHAR(43)      NOT NULL,
  outcome      VARCHAR(12)   NOT NULL,
  commit_sha   VARCHAR(64)   NULL,
  version      VARCHAR(200)  NULL,
  claimed_at   DATETIME(6)   NOT NULL,
  started_at   DATETIME(6)   NULL,
  finished_at  DATETIME(6)   NULL,
  exit_code    INT           NULL,
  error        VARCHAR(1000) NULL,
  log_tail     MEDIUMTEXT    NULL,
  result_bytes BIGINT        NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_attempt_lease_token (lease_token),
  UNIQUE KEY uk_attempt_batch_number (batch_id, number),
  KEY ix_attempt_job (job_id, id),
  KEY ix_attempt_worker (worker_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The accepted result of a succeeded batch: exactly what the script wrote to stdout.
CREATE TABLE batch_result (
  batch_id   BIGINT   NOT NULL,
  job_id     BIGINT   NOT NULL,
  seq        INT      NOT NULL,
  attempt_id BIGINT   NOT NULL,
  output     LONGTEXT NOT NULL,
  PRIMARY KEY (batch_id),
  UNIQUE KEY uk_batch_result_job_seq (job_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Completions per job and minute: the rate, ETA and throughput chart read this, never the attempt history.
CREATE TABLE throughput (
  job_id  BIGINT      NOT NULL,
  minute  DATETIME(0) NOT NULL,
  batches INT         NOT NULL,
  items   BIGINT      NOT NULL,
  PRIMARY KEY (job_id, minute),
  KEY ix_throughput_minute (minute)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
