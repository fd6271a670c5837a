-- Export jobs (docs/exports.md): a call log CSV or a zip of recordings of
-- a filter, asked for with POST /v1/exports and written by a worker into
-- the recordings store, downloadable by its requester until it expires.
-- `filter` is the scope and filters resolved when it was asked for (JSON).
CREATE TABLE exports (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    filter TEXT NOT NULL,
    -- queued, running, ready, failed, expired
    state TEXT NOT NULL,
    items_done BIGINT NOT NULL,
    items_total BIGINT,
    storage_key TEXT,
    -- The local store holding the file; NULL on S3.
    store_id TEXT,
    size_bytes BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX exports_org_user_idx ON exports (org_id, user_id, id);
CREATE INDEX exports_expiry_idx ON exports (expires_at) WHERE state = 'ready';
-- Expired exports whose file a crashed pass did not delete yet.
CREATE INDEX exports_unfiled_idx ON exports (id) WHERE (state = 'expired') AND (storage_key IS NOT NULL);

-- Exports are written by an `export` job. SQLite cannot change a CHECK in
-- place: the job table is rebuilt (nothing references it), same columns in
-- the same order.
CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('push', 'score_recompute', 'power_dial', 'export')),
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
