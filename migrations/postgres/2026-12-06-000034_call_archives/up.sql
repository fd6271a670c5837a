-- Call archives (docs/retention.md "Archives"): before the purge deletes
-- call records, it writes them as gzip-compressed NDJSON to the object
-- store, one part per batch, grouped by organisation and UTC month. A part
-- is written `pending` first, its object stored next, and it is completed
-- in the transaction that deletes its records; a pending part the worker
-- abandoned is claimed (`abandoned_at`), then deleted (object, then row)
-- by a later run. A claimed part can never be completed.
CREATE TABLE call_archives (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    -- `YYYY-MM`: the UTC month the part's calls started in.
    month TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    -- The local store holding the object; NULL on S3.
    store_id TEXT,
    records BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    first_started_at BIGINT NOT NULL,
    last_started_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    abandoned_at BIGINT
);
CREATE INDEX call_archives_org_month_idx ON call_archives (org_id, month, id);
CREATE INDEX call_archives_pending_idx ON call_archives (created_at) WHERE completed_at IS NULL;
