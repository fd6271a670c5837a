-- Back to the tables of 2026-12-02-000009 (no foreign keys on the two user
-- columns), so that migration's down can drop the columns: SQLite cannot
-- drop a column that is part of a foreign key.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE recordings_rebuilt (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    call_id TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('wav', 'mp3', 'ogg', 'amr', 'm4a')),
    duration_ms BIGINT,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT,
    store_id TEXT
);
INSERT INTO recordings_rebuilt
    (id, org_id, phone_id, call_id, storage_key, size_bytes, sha256, format,
     duration_ms, uploaded_at, uploaded_by, store_id)
SELECT id, org_id, phone_id, call_id, storage_key, size_bytes, sha256, format,
       duration_ms, uploaded_at, uploaded_by, store_id
  FROM recordings;
DROP TABLE recordings;
ALTER TABLE recordings_rebuilt RENAME TO recordings;
CREATE UNIQUE INDEX recordings_call_idx ON recordings (phone_id, call_id);

CREATE TABLE recording_uploads_rebuilt (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    call_id TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_id TEXT,
    call_started_at BIGINT
);
INSERT INTO recording_uploads_rebuilt
    (id, org_id, phone_id, call_id, storage_key, size_bytes, sha256, created_at,
     expires_at, user_id, call_started_at)
SELECT id, org_id, phone_id, call_id, storage_key, size_bytes, sha256, created_at,
       expires_at, user_id, call_started_at
  FROM recording_uploads;
DROP TABLE recording_uploads;
ALTER TABLE recording_uploads_rebuilt RENAME TO recording_uploads;
CREATE INDEX recording_uploads_expiry_idx ON recording_uploads (expires_at);

COMMIT;
PRAGMA foreign_keys = ON;
