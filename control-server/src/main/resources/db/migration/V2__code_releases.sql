-- Releases: commits promoted to the worker branch, newest last. The latest row is the current release.
CREATE TABLE code_release (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  commit_sha      CHAR(40)     NOT NULL,
  version         VARCHAR(200) NOT NULL,
  previous_commit CHAR(40)     NULL,
  rollback        BOOLEAN      NOT NULL,
  promoted_by     VARCHAR(100) NOT NULL,
  promoted_at     DATETIME(6)  NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Succeeded batches per job and code version, kept with each completion: "versions seen" without scanning attempts.
CREATE TABLE job_version (
  job_id     BIGINT       NOT NULL,
  commit_sha VARCHAR(64)  NOT NULL,
  version    VARCHAR(200) NOT NULL,
  batches    INT          NOT NULL,
  items      BIGINT       NOT NULL,
  PRIMARY KEY (job_id, commit_sha)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
