-- Dial authorisation rules (docs/dialing.md, "Dial authorisation";
-- decision 0029): one versioned JSON document per organisation with its
-- destination-class rules, calling hours and callee-hours rule. No row:
-- everything is allowed, as before.
CREATE TABLE dial_rule_sets (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id),
    version BIGINT NOT NULL,
    rules TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);
