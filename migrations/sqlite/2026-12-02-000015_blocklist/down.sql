ALTER TABLE call_records DROP COLUMN blocked;

CREATE TABLE dial_rules (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL CHECK (kind IN ('blocked_prefix', 'do_not_call')),
    value TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, value)
);
-- Organisation-scope blocks without an expiry are what the dial policy
-- could say; the rest of the blocklist is dropped.
INSERT INTO dial_rules (org_id, kind, value)
SELECT org_id, CASE pattern WHEN 'number' THEN 'do_not_call' ELSE 'blocked_prefix' END, value
FROM blocklist_entries
WHERE scope = 'organisation' AND kind = 'block' AND expires_at IS NULL;

DROP TABLE blocklist_entries;
