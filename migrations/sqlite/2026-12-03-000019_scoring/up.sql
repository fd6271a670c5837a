-- Contact scoring (docs/scoring.md, docs/decisions/0023-scoring.md).

-- Every rule set an organisation has had: version 1 is the seed, each
-- PUT /v1/score-rules adds the next. rules is the whole set as JSON
-- (rules, groups with caps, total cap; domain::scoring checks it). Old
-- versions stay: the ledger names the version each row was scored under.
CREATE TABLE score_rule_sets (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    version BIGINT NOT NULL,
    rules TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id),
    PRIMARY KEY (org_id, version)
);

-- The append-only score ledger. A contact's score is the sum of its rows
-- of the version it was last built under (contacts.score_version). The
-- unique key makes a rule score at most once per trigger (a call, a count
-- reached) and version, however often a record is replayed.
CREATE TABLE score_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    rule_version BIGINT NOT NULL,
    rule_key TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    call_record_id TEXT REFERENCES call_records (id),
    points BIGINT NOT NULL,
    label TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE UNIQUE INDEX score_events_once_idx
    ON score_events (contact_id, rule_version, rule_key, trigger_key);
CREATE INDEX score_events_contact_seq_idx ON score_events (contact_id, rule_version, seq);

-- The rule-set version a contact's score and ledger were built under;
-- NULL: never built (a new contact), built at its first scoring.
ALTER TABLE contacts ADD COLUMN score_version BIGINT;

-- Rebuilding every contact's ledger after a rule change, in batches; the
-- job (jobs.kind 'score_recompute') names it. cursor: the last contact id
-- done (contacts are walked in id order).
CREATE TABLE score_recomputes (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    rule_version BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'superseded')),
    contacts_total BIGINT NOT NULL,
    contacts_done BIGINT NOT NULL,
    cursor TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX score_recomputes_org_idx ON score_recomputes (org_id, created_at);

-- Every organisation starts with the seed's four rules (the same JSON as
-- domain::scoring::seed_rules, which new organisations get).
INSERT INTO score_rule_sets (org_id, version, rules, created_at, created_by)
SELECT id, 1, '{"total_cap":null,"groups":[],"rules":[{"key":"call_placed","label":"Call placed","trigger":"call_placed","repeat":"each","points":5},{"key":"call_answered","label":"Call on air","trigger":"call_answered","repeat":"each","points":20},{"key":"past_100_calls","label":"Past 100 calls","trigger":"count_reached","counter":"calls","threshold":101,"repeat":"once","points":1000},{"key":"past_10_on_air","label":"Past 10 calls on air","trigger":"count_reached","counter":"answered","threshold":11,"repeat":"once","points":100}]}', CAST(strftime('%s','now') AS BIGINT) * 1000000, NULL FROM organisations;

-- The job queue gets the recompute kind and its outcome 'done'. SQLite
-- cannot change a CHECK in place: the table is rebuilt (nothing references
-- it), same columns in the same order.
CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('push', 'score_recompute')),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT,
    device_id TEXT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    in_flight BIGINT NOT NULL CHECK (in_flight IN (0, 1)),
    possible_duplicates BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('sent', 'dropped', 'failed', 'done')),
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    request_id TEXT
);
INSERT INTO jobs_new SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE outcome IS NULL;
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE outcome IS NOT NULL;
CREATE INDEX jobs_device_idx ON jobs (device_id) WHERE outcome IS NULL;
CREATE INDEX jobs_topic_idx ON jobs (topic) WHERE outcome IS NULL;
