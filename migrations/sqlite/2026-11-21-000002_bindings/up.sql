-- Bindings of app users to desk phones, the organisation's binding policy,
-- per-phone grants, NFC binding tokens and the binding audit log.
-- See docs/binding.md.

-- One row per organisation that changed the defaults (no row: defaults).
CREATE TABLE binding_policies (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    -- The lowest role that may take over a phone someone else holds.
    takeover TEXT NOT NULL CHECK (takeover IN ('nobody', 'admins', 'managers', 'anyone')),
    duration TEXT NOT NULL CHECK (duration IN ('until_unbound', 'end_of_workday', 'hours')),
    duration_hours BIGINT CHECK (duration_hours BETWEEN 1 AND 720),
    -- Local time (HH:MM) the holder's working day ends, in the holder's time zone.
    workday_end TEXT NOT NULL,
    max_phones_per_user BIGINT NOT NULL CHECK (max_phones_per_user BETWEEN 1 AND 100),
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users (id),
    CHECK ((duration = 'hours') = (duration_hours IS NOT NULL))
);

-- Who may bind a phone: everyone in the organisation, a user, or a team.
CREATE TABLE phone_grants (
    id TEXT PRIMARY KEY,
    phone_id TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    grantee_kind TEXT NOT NULL CHECK (grantee_kind IN ('everyone', 'user', 'team')),
    user_id TEXT REFERENCES users (id),
    team_id TEXT REFERENCES teams (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CHECK (
        (grantee_kind = 'everyone' AND user_id IS NULL AND team_id IS NULL)
        OR (grantee_kind = 'user' AND user_id IS NOT NULL AND team_id IS NULL)
        OR (grantee_kind = 'team' AND team_id IS NOT NULL AND user_id IS NULL)
    )
);
CREATE UNIQUE INDEX phone_grants_unique_idx
    ON phone_grants (phone_id, grantee_kind, COALESCE(user_id, ''), COALESCE(team_id, ''));
CREATE INDEX phone_grants_user_id_idx ON phone_grants (user_id);
CREATE INDEX phone_grants_team_id_idx ON phone_grants (team_id);

CREATE TABLE bindings (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    via TEXT NOT NULL CHECK (via IN ('app', 'phone', 'nfc')),
    started_at BIGINT NOT NULL,
    expires_at BIGINT,
    ended_at BIGINT,
    end_reason TEXT CHECK (end_reason IN (
        'unbound', 'taken_over', 'expired', 'phone_disabled', 'credential_revoked', 'user_disabled'
    )),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
-- The rule "one holder per phone", enforced by the database itself.
CREATE UNIQUE INDEX bindings_one_active_per_phone_idx ON bindings (phone_id) WHERE ended_at IS NULL;
CREATE INDEX bindings_active_user_idx ON bindings (user_id) WHERE ended_at IS NULL;
CREATE INDEX bindings_active_expiry_idx ON bindings (expires_at) WHERE ended_at IS NULL;
CREATE INDEX bindings_org_id_idx ON bindings (org_id, id);

-- NFC binding tokens (signed JWTs, single use) and their numeric fallback codes.
CREATE TABLE binding_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    phone_id TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT REFERENCES users (id)
);
CREATE UNIQUE INDEX binding_tokens_code_idx ON binding_tokens (org_id, code_hash);
CREATE INDEX binding_tokens_phone_id_idx ON binding_tokens (phone_id);
CREATE INDEX binding_tokens_expires_at_idx ON binding_tokens (expires_at);

-- The audit log: one row per binding change, in the order they happened.
CREATE TABLE binding_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    binding_id TEXT NOT NULL REFERENCES bindings (id),
    phone_id TEXT NOT NULL REFERENCES phones (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL CHECK (action IN ('bound', 'ended')),
    via TEXT CHECK (via IN ('app', 'phone', 'nfc')),
    reason TEXT CHECK (reason IN (
        'unbound', 'taken_over', 'expired', 'phone_disabled', 'credential_revoked', 'user_disabled'
    )),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'phone', 'system')),
    actor_id TEXT,
    previous_user_id TEXT REFERENCES users (id),
    at BIGINT NOT NULL,
    CHECK ((action = 'bound') = (via IS NOT NULL)),
    CHECK ((action = 'ended') = (reason IS NOT NULL))
);
CREATE INDEX binding_events_org_seq_idx ON binding_events (org_id, seq);
CREATE INDEX binding_events_binding_id_idx ON binding_events (binding_id);
