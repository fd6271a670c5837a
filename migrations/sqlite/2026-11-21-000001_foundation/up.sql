-- Foundation: organisations, users, teams, sessions, phones and their credentials.
-- Ids are UUIDv7 text (time-ordered, so keyset pagination by id is creation order);
-- timestamps are microseconds since the Unix epoch (BIGINT) so both backends
-- store, compare and sort them identically. See docs/decisions/0001-storage-types.md.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'salesperson')),
    password_hash TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_org_id_idx ON users (org_id, id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

-- A session is one refresh-token family: every rotation stays in it, and
-- revoking it kills the family and every access token minted from it.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE phones (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    number_e164 TEXT NOT NULL,
    extension TEXT NOT NULL,
    label TEXT NOT NULL,
    vendor TEXT,
    model TEXT,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, number_e164, extension)
);
CREATE INDEX phones_org_id_idx ON phones (org_id, id);

CREATE TABLE phone_provisioning_codes (
    code_hash TEXT PRIMARY KEY,
    phone_id TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX phone_provisioning_codes_expires_at_idx ON phone_provisioning_codes (expires_at);

CREATE TABLE phone_credentials (
    id TEXT PRIMARY KEY,
    phone_id TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX phone_credentials_phone_id_idx ON phone_credentials (phone_id);
