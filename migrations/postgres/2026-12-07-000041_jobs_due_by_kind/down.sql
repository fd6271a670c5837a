DROP INDEX jobs_kind_due_idx;
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE outcome IS NULL;
