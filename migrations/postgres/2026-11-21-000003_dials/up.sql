-- Dial commands (the source of truth for what a phone was asked to dial),
-- the organisation's dial policy, and the per-user event log behind
-- GET /v1/events. See docs/dialing.md.

CREATE TABLE dial_commands (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    binding_id TEXT NOT NULL REFERENCES bindings (id),
    number TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN (
        'queued', 'delivered', 'dialing', 'ringing', 'answered',
        'ended', 'failed', 'expired', 'cancelled'
    )),
    failure TEXT CHECK (failure IN ('busy', 'no_answer', 'rejected', 'invalid_number', 'error')),
    -- The client's Idempotency-Key and a hash of the request it came with.
    idempotency_key TEXT,
    request_hash TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    delivered_at BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK ((state = 'failed') = (failure IS NOT NULL)),
    CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
);
CREATE UNIQUE INDEX dial_commands_idempotency_idx
    ON dial_commands (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- What a (re)connecting phone is sent, and what the expiry sweep looks at.
CREATE INDEX dial_commands_queued_idx ON dial_commands (phone_id, expires_at) WHERE state = 'queued';
CREATE INDEX dial_commands_queued_expiry_idx ON dial_commands (expires_at) WHERE state = 'queued';
CREATE INDEX dial_commands_org_user_idx ON dial_commands (org_id, user_id, id);

-- Blocked prefixes and do-not-call numbers, one row each.
CREATE TABLE dial_rules (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL CHECK (kind IN ('blocked_prefix', 'do_not_call')),
    value TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, value)
);
-- When the policy was last set (no row: never).
CREATE TABLE dial_policies (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users (id)
);

-- What each user's live stream replays after a reconnect; purged after
-- the retention the operator configures.
CREATE TABLE app_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX app_events_user_seq_idx ON app_events (user_id, seq);
CREATE INDEX app_events_at_idx ON app_events (at);
