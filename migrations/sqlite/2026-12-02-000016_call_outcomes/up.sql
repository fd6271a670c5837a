-- What came of a call (docs/call-outcomes.md, decision 0020).
-- dispositions: an organisation's catalogue. Flags are 0/1. A disposition
-- is archived (archived_at), never deleted, so a call's disposition_id
-- always resolves.
CREATE TABLE dispositions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    reached BIGINT NOT NULL,
    sale BIGINT NOT NULL,
    do_not_call BIGINT NOT NULL,
    callback BIGINT NOT NULL,
    sort_order BIGINT NOT NULL,
    archived_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX dispositions_org_code_idx ON dispositions (org_id, code);

-- call_annotations: what a person wrote about a call, one row per call,
-- kept apart from call_records so a re-ingest of the record (which
-- rewrites the record's columns) never touches it. tags is a JSON array.
-- private is 0/1; version counts the edits (optimistic concurrency).
CREATE TABLE call_annotations (
    call_record_id TEXT PRIMARY KEY REFERENCES call_records (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    notes TEXT,
    tags TEXT NOT NULL,
    disposition_id TEXT REFERENCES dispositions (id),
    callback_at BIGINT,
    private BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id),
    updated_at BIGINT NOT NULL
);
CREATE INDEX call_annotations_disposition_idx ON call_annotations (disposition_id);

-- call_annotation_edits: the edit history, one row per accepted change;
-- changes is a JSON object {field: {"before": ..., "after": ...}}.
CREATE TABLE call_annotation_edits (
    id TEXT PRIMARY KEY,
    call_record_id TEXT NOT NULL REFERENCES call_records (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    editor_id TEXT NOT NULL REFERENCES users (id),
    version BIGINT NOT NULL,
    changes TEXT NOT NULL,
    edited_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX call_annotation_edits_record_idx ON call_annotation_edits (call_record_id, version);

-- call_settings: an organisation's call options; no row means defaults
-- (private calls not allowed).
CREATE TABLE call_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    allow_private BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Callback reminders are push jobs of topic `callback:<call record id>`;
-- a changed or cleared callback drops the pending one by topic.
CREATE INDEX jobs_topic_idx ON jobs (topic) WHERE outcome IS NULL;
