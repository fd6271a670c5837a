-- The presence state last reported to webhooks (`presence.changed`,
-- docs/integrations.md) per user. Presence is partly live (the relay), so a
-- change has no transaction of its own: reporting one is this row's
-- compare-and-set, and the outbox row is written in that transaction.
-- `changed_at` is when the reported state was observed: an observation
-- older than it is stale and reports nothing.
CREATE TABLE presence_reported (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    state TEXT NOT NULL CHECK (state IN ('available', 'away', 'busy', 'dnd', 'offline')),
    changed_at BIGINT NOT NULL
);
-- When an organisation starts wanting presence.changed again, its old rows
-- are forgotten (they describe a past no event was sent for).
CREATE INDEX presence_reported_org_idx ON presence_reported (org_id);
