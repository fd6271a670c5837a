-- Time per presence state per user and day (docs/presence.md, "Time per
-- state"; docs/decisions/0030-presence-time.md). Once a minute one worker
-- samples every enabled user's effective state and adds a minute to the
-- row of their own local day and that state.
CREATE TABLE presence_minutes (
    user_id TEXT NOT NULL REFERENCES users (id),
    day TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('available', 'away', 'busy', 'dnd', 'offline')),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    minutes BIGINT NOT NULL,
    PRIMARY KEY (user_id, day, state)
);
CREATE INDEX presence_minutes_org_day ON presence_minutes (org_id, day);

-- The last minute (Unix time / 60) that was sampled: a sampler claims the
-- next one by moving this forward, so with several workers each minute is
-- counted once.
CREATE TABLE presence_sampling (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    sampled_minute BIGINT NOT NULL
);
