-- Push: the app installs FCM sends to, each user's push schedule and cursor,
-- the organisation's default schedule, and the persisted job queue the
-- workers lease sends from. See docs/push.md.

CREATE TABLE push_devices (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    platform TEXT NOT NULL CHECK (platform IN ('android', 'ios')),
    -- The FCM registration token; never returned by the API.
    token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_sent_at BIGINT
);
-- A token names one app install: it belongs to whoever registered it last.
CREATE UNIQUE INDEX push_devices_token_idx ON push_devices (token);
CREATE INDEX push_devices_user_idx ON push_devices (user_id);

-- Tokens FCM called UNREGISTERED (SHA-256, hex): refused if registered again.
CREATE TABLE push_dead_tokens (
    token_sha256 TEXT PRIMARY KEY,
    dead_at BIGINT NOT NULL
);

-- The organisation's default schedule; users without their own follow it.
-- Flags are 0/1 (the schema keeps to types both backends share).
CREATE TABLE push_default_schedules (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    daily_at TEXT,
    every_minutes BIGINT CHECK (every_minutes BETWEEN 5 AND 1440),
    on_missed_call BIGINT NOT NULL CHECK (on_missed_call IN (0, 1)),
    on_new_records BIGINT NOT NULL CHECK (on_new_records IN (0, 1)),
    updated_at BIGINT NOT NULL
);

-- One row per user who registered a device or set a schedule.
CREATE TABLE push_schedules (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    -- 0: the row mirrors the organisation's default.
    custom BIGINT NOT NULL CHECK (custom IN (0, 1)),
    daily_at TEXT,
    every_minutes BIGINT CHECK (every_minutes BETWEEN 5 AND 1440),
    on_missed_call BIGINT NOT NULL CHECK (on_missed_call IN (0, 1)),
    on_new_records BIGINT NOT NULL CHECK (on_new_records IN (0, 1)),
    -- The organisation's change number the last digest covered.
    pushed_seq BIGINT NOT NULL,
    last_pushed_at BIGINT,
    -- When the next digest is due; NULL when nothing is scheduled.
    next_due_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX push_schedules_due_idx ON push_schedules (next_due_at);
CREATE INDEX push_schedules_org_idx ON push_schedules (org_id, custom);

-- Persisted jobs, leased by workers. Finished rows stay for a week as the
-- record of what was sent (outcome, attempts, possible duplicates).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('push')),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT,
    -- push: the device; no foreign key, a deleted device drops its jobs.
    device_id TEXT,
    -- push: what the message is (digest, dial, binding) and its body.
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    -- 1 while a send is out and its answer not recorded: a worker that
    -- finds it set on an expired lease may send a duplicate.
    in_flight BIGINT NOT NULL CHECK (in_flight IN (0, 1)),
    possible_duplicates BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('sent', 'dropped', 'failed')),
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE outcome IS NULL;
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE outcome IS NOT NULL;
CREATE INDEX jobs_device_idx ON jobs (device_id) WHERE outcome IS NULL;
