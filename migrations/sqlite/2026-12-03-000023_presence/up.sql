-- Presence (docs/presence.md, docs/decisions/0028-presence.md). Only what
-- the user chose is stored: available, away or dnd, a status text, and for
-- a timed DND the time it ends. Whether the app and the phone are
-- connected and the phone's line state are live (Redis with a TTL, or this
-- process), never here, so a dead node leaves nothing to clean up.
CREATE TABLE user_presence (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    chosen TEXT NOT NULL CHECK (chosen IN ('available', 'away', 'dnd')),
    status_text TEXT,
    until_at BIGINT,
    last_active_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Per organisation: whether salespeople see their teammates' status text,
-- and after how long without activity a user counts as away.
CREATE TABLE presence_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    hide_status_text BOOLEAN NOT NULL,
    auto_away_after_secs BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
