-- A browser session of the web console: one row per signed-in browser,
-- bound to a login session (sessions.id) so revoking that session, or
-- disabling the user, ends it as it ends API tokens. The cookie holds a
-- secret whose SHA-256 is token_hash; csrf_token is the synchronizer token
-- every form of this session must carry. last_seen_at drives idle expiry.
CREATE TABLE console_sessions (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_last_seen_idx ON console_sessions (last_seen_at);
