-- API keys for integrations (docs/integrations.md): credentials of an
-- organisation, not of a person, each with the scopes it may use. Only the
-- SHA-256 of the key is stored (the key has 256 random bits, so a fast hash
-- leaves nothing to brute-force); `prefix` is its first characters, shown
-- so an admin can tell keys apart. A revoked key keeps its row for the
-- audit log and the list.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    -- Space-separated scopes, e.g. `calls:read contacts:write`.
    scopes TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    -- Written at most once a minute per key.
    last_used_at BIGINT,
    revoked_at BIGINT,
    revoked_by TEXT REFERENCES users (id)
);
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);
CREATE INDEX api_keys_org ON api_keys (org_id, id);
