-- Retention (docs/retention.md): how many days an organisation keeps call
-- records and recordings, legal holds that keep chosen calls past those
-- days, and the mark a recording carries while the worker purges it.

-- One row per organisation that chose its own days; a missing row or a
-- NULL column follows the operator's default (`retention_*_days`).
CREATE TABLE retention_policies (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id),
    call_record_days BIGINT,
    recording_days BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id)
);

-- A hold keeps every call of a user or a contact, or one call, until it is
-- released. A released hold keeps its row for the audit trail.
CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    -- `user`, `contact` or `call`.
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    released_at BIGINT,
    released_by TEXT REFERENCES users (id)
);
-- One active hold per subject; the purge looks holds up by subject.
CREATE UNIQUE INDEX legal_holds_active_subject
    ON legal_holds (org_id, subject_type, subject_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_org ON legal_holds (org_id, id);

-- Set in the transaction that commits a recording to the purge (and
-- unlinks it from its call); the object is deleted next, then the row. A
-- row with this set may have lost its object; one without never has.
ALTER TABLE recordings ADD COLUMN purging_at BIGINT;
CREATE INDEX recordings_org_uploaded_idx ON recordings (org_id, uploaded_at, id);
CREATE INDEX recordings_purging_idx ON recordings (purging_at) WHERE purging_at IS NOT NULL;

-- Deleting a call's dependents by record id, and unlinking a recording.
CREATE INDEX score_events_record_idx ON score_events (call_record_id);
CREATE INDEX call_records_recording_idx ON call_records (recording_id);
