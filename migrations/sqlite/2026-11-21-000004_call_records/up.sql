-- Call records uploaded by phones (and relayed by apps), their recordings,
-- pending presigned uploads, and the per-organisation change counter behind
-- GET /v1/sync/calls. See docs/records.md.

-- One row per organisation. Every change to a call record takes the next
-- numbers from here inside its transaction; the row lock orders commits, so
-- a reader that has seen change N has seen every change before N.
CREATE TABLE sync_counters (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    last_seq BIGINT NOT NULL
);

CREATE TABLE recordings (
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
    uploaded_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX recordings_call_idx ON recordings (phone_id, call_id);

CREATE TABLE call_records (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    call_id TEXT NOT NULL,
    -- Who held the phone when the call started; absent when nobody did.
    user_id TEXT REFERENCES users (id),
    dial_id TEXT REFERENCES dial_commands (id),
    direction TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound', 'missed')),
    local_number TEXT,
    local_e164 TEXT,
    remote_number TEXT NOT NULL,
    remote_e164 TEXT,
    started_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    duration_secs BIGINT,
    result TEXT CHECK (result IN ('answered', 'busy', 'no_answer', 'rejected', 'failed', 'cancelled')),
    recording_id TEXT REFERENCES recordings (id),
    phone_reported_at BIGINT,
    app_reported_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sync_seq BIGINT NOT NULL,
    CHECK (phone_reported_at IS NOT NULL OR app_reported_at IS NOT NULL)
);
CREATE UNIQUE INDEX call_records_call_idx ON call_records (phone_id, call_id);
-- Review: newest first, for the organisation, a user, or a phone.
CREATE INDEX call_records_org_started_idx ON call_records (org_id, started_at, id);
CREATE INDEX call_records_user_started_idx ON call_records (org_id, user_id, started_at, id);
CREATE INDEX call_records_phone_started_idx ON call_records (org_id, phone_id, started_at, id);
-- Sync: changes after a cursor, for the organisation or one user.
CREATE UNIQUE INDEX call_records_sync_idx ON call_records (org_id, sync_seq);
CREATE INDEX call_records_user_sync_idx ON call_records (org_id, user_id, sync_seq);

-- A presigned upload handed to a phone and not yet completed.
CREATE TABLE recording_uploads (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    call_id TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX recording_uploads_expiry_idx ON recording_uploads (expires_at);

-- Who held a phone when: record uploads look up the binding in force at
-- each call's start.
CREATE INDEX bindings_phone_started_idx ON bindings (phone_id, started_at);

-- Organisations that existed before the counter.
INSERT INTO sync_counters (org_id, last_seq) SELECT id, 0 FROM organisations;
