-- The organisation's audit log: who changed what, for every change a
-- manager or an auditor asks about (dials and each of their state changes,
-- bindings, grants, policies, later contacts, blocklist and score rules).
-- Rows are written in the transaction of the change itself. `user_id` is
-- the user the entry concerns (the dial's caller, the binding's holder):
-- managers read the entries of their teams' members by it. `details` is a
-- JSON object whose keys depend on `action` (docs/audit.md).
CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    user_id TEXT REFERENCES users (id),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'phone', 'system')),
    actor_id TEXT,
    details TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_events_org_seq_idx ON audit_events (org_id, seq);
CREATE INDEX audit_events_org_user_seq_idx ON audit_events (org_id, user_id, seq);
CREATE INDEX audit_events_org_subject_idx ON audit_events (org_id, subject_id);

-- The binding log so far, in its order, so the audit log starts complete.
INSERT INTO audit_events
    (org_id, action, subject_type, subject_id, user_id, actor_kind, actor_id, details, at)
SELECT
    org_id,
    'binding.' || action,
    'binding',
    binding_id,
    user_id,
    actor_kind,
    actor_id,
    json_strip_nulls(json_build_object(
        'phone_id', phone_id,
        'via', via,
        'reason', reason,
        'previous_user_id', previous_user_id
    ))::text,
    at
FROM binding_events
ORDER BY seq;
