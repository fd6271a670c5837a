DELETE FROM jobs WHERE kind = 'export';
CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('push', 'score_recompute', 'power_dial')),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT,
    device_id TEXT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    in_flight BIGINT NOT NULL CHECK (in_flight IN (0, 1)),
    possible_duplicates BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('sent', 'dropped', 'failed', 'done')),
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    request_id TEXT
);
INSERT INTO jobs_new SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE outcome IS NULL;
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE outcome IS NOT NULL;
CREATE INDEX jobs_device_idx ON jobs (device_id) WHERE outcome IS NULL;
CREATE INDEX jobs_topic_idx ON jobs (topic) WHERE outcome IS NULL;
DROP TABLE exports;
