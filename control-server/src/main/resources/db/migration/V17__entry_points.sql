-- Entry points (issue 11): a job names an entry point of the signed release's nightshift.json and its arguments
-- instead of a raw shell command; exactly one of command and entry_point is set.
ALTER TABLE job MODIFY command TEXT NULL;
ALTER TABLE job ADD COLUMN entry_point VARCHAR(200) NULL;
-- The arguments appended to the entry point's command, as a JSON array of strings.
ALTER TABLE job ADD COLUMN entry_args TEXT NULL;
