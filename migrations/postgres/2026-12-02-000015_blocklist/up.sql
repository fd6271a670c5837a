-- The blocklist and allow-list (docs/blocklist.md, decision 0019): one row
-- per entry. `scope_id` is the organisation's, a team's or a user's id as
-- `scope` says; `pattern` says whether `value` is a whole E.164 number or
-- a prefix (`+` and 1 to 15 digits). Matching reads the entries of one
-- organisation whose value is the number or one of its prefixes, by the
-- (org_id, value) index.
CREATE TABLE blocklist_entries (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL CHECK (kind IN ('block', 'allow')),
    scope TEXT NOT NULL CHECK (scope IN ('organisation', 'team', 'user')),
    scope_id TEXT NOT NULL,
    pattern TEXT NOT NULL CHECK (pattern IN ('number', 'prefix')),
    value TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id),
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX blocklist_entries_one_per_scope
    ON blocklist_entries (org_id, scope, scope_id, pattern, value);
CREATE INDEX blocklist_entries_match ON blocklist_entries (org_id, value);

-- The dial policy's do-not-call numbers and blocked prefixes become
-- organisation-scope block entries; GET/PUT /v1/dial-policy are a view
-- over those from now on. Ids are random UUIDs (v4): keyset paging only
-- needs them unique and ordered.
INSERT INTO blocklist_entries
    (id, org_id, kind, scope, scope_id, pattern, value, label, reason,
     expires_at, created_at, created_by, updated_at)
SELECT
    gen_random_uuid()::text,
    r.org_id, 'block', 'organisation', r.org_id,
    CASE r.kind WHEN 'do_not_call' THEN 'number' ELSE 'prefix' END,
    r.value, 'dial policy', '', NULL,
    coalesce(p.updated_at, 0), p.updated_by, coalesce(p.updated_at, 0)
FROM dial_rules r
LEFT JOIN dial_policies p ON p.org_id = r.org_id;

DROP TABLE dial_rules;

-- Whether an inbound call came from a number blocked for its user at
-- ingest (usecases::record_ingest).
ALTER TABLE call_records ADD COLUMN blocked BOOLEAN NOT NULL DEFAULT false;
