-- Scale-out (docs/scale-out.md): what several server instances on one database share.

-- The code repository, shared through the database: every accepted push as a Git bundle, imported by every other
-- instance in id order (its prerequisites are always in earlier bundles). The rows are never updated.
CREATE TABLE code_push (
  id        BIGINT       NOT NULL AUTO_INCREMENT,
  bundle    LONGBLOB     NOT NULL,
  pushed_at DATETIME(6)  NOT NULL,
  instance  VARCHAR(200) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The branches and tags of the shared repository (the worker branch is code_release's latest row). A push moves a
-- ref only from the value it saw (compare-and-set), so two instances cannot both win a race for one branch.
CREATE TABLE code_ref (
  name      VARCHAR(255) NOT NULL,
  object_id CHAR(40)     NOT NULL,
  push_id   BIGINT       NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row every instance polls (every 20 ms by default) to wake its parked claims: each counter is bumped by the
-- transaction that made work claimable, promoted a release or accepted a push.
CREATE TABLE grid_signal (
  id        TINYINT NOT NULL,
  work      BIGINT  NOT NULL,
  release_  BIGINT  NOT NULL,
  code      BIGINT  NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT INTO grid_signal (id, work, release_, code) VALUES (1, 0, 0, 0);

-- Dashboard sessions (Spring Session JDBC, its MySQL schema): a login made through one instance is valid on all.
CREATE TABLE SPRING_SESSION (
  PRIMARY_ID            CHAR(36)     NOT NULL,
  SESSION_ID            CHAR(36)     NOT NULL,
  CREATION_TIME         BIGINT       NOT NULL,
  LAST_ACCESS_TIME      BIGINT       NOT NULL,
  MAX_INACTIVE_INTERVAL INT          NOT NULL,
  EXPIRY_TIME           BIGINT       NOT NULL,
  PRINCIPAL_NAME        VARCHAR(100),
  CONSTRAINT SPRING_SESSION_PK PRIMARY KEY (PRIMARY_ID)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;
CREATE UNIQUE INDEX SPRING_SESSION_IX1 ON SPRING_SESSION (SESSION_ID);
CREATE INDEX SPRING_SESSION_IX2 ON SPRING_SESSION (EXPIRY_TIME);
CREATE INDEX SPRING_SESSION_IX3 ON SPRING_SESSION (PRINCIPAL_NAME);

CREATE TABLE SPRING_SESSION_ATTRIBUTES (
  SESSION_PRIMARY_ID CHAR(36)     NOT NULL,
  ATTRIBUTE_NAME     VARCHAR(200) NOT NULL,
  ATTRIBUTE_BYTES    BLOB         NOT NULL,
  CONSTRAINT SPRING_SESSION_ATTRIBUTES_PK PRIMARY KEY (SESSION_PRIMARY_ID, ATTRIBUTE_NAME),
  CONSTRAINT SPRING_SESSION_ATTRIBUTES_FK FOREIGN KEY (SESSION_PRIMARY_ID) REFERENCES SPRING_SESSION (PRIMARY_ID)
    ON DELETE CASCADE
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;
