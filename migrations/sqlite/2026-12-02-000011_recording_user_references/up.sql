-- recordings.uploaded_by and recording_uploads.user_id reference users, as
-- they do on PostgreSQL since 2026-12-02-000009 (found by
-- core/tests/migration_parity.rs). SQLite cannot add a foreign key to an
-- existing column, so both tables are rebuilt (sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): foreign keys off, copy into a
-- new table, drop the old one, rename, recreate its indexes, check.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE recordings_rebuilt (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    -- The phone's own call id: the record this recording belongs to, whether
    -- or not that record has arrived yet.
    call_id TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('wav', 'mp3', 'ogg', 'amr', 'm4a')),
    duration_ms BIGINT,
    uploaded_at BIGINT NOT NULL,
    -- The app user who uploaded the recording; NULL when the phone did.
    uploaded_by TEXT REFERENCES users (id),
    -- The local store (its marker file's id) that holds the file; NULL on S3.
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
    -- The app user the upload was handed to; NULL for a phone.
    user_id TEXT REFERENCES users (id),
    -- When the app says the call started.
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
