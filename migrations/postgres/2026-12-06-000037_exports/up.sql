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

-- Exports are written by an `export` job.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('push', 'score_recompute', 'power_dial', 'export'));
