-- A job's secrets (issue 11): sealed with the server's secrets key (AES-256-GCM, the key in a file, never here),
-- handed only to the agent holding a lease, for the script's environment; the API shows their names only.
ALTER TABLE job
  ADD COLUMN secrets      MEDIUMTEXT NULL,
  ADD COLUMN secret_names TEXT       NULL;
