-- Dialled attempts (docs/call-lists.md, "Dialling and outcomes"): an
-- attempt links its task, the dial command it placed and the call record
-- that came back; it is `dialing` until the dial or the record settles it.
-- SQLite cannot change a CHECK in place: the table (new in 000026) is
-- rebuilt.
CREATE TABLE call_list_attempts_new (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES call_list_tasks (id),
    list_id TEXT NOT NULL REFERENCES call_lists (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('dialing', 'skipped', 'cancelled', 'answered', 'busy', 'no_answer', 'failed', 'invalid_number')),
    reason TEXT,
    at BIGINT NOT NULL,
    dial_id TEXT REFERENCES dial_commands (id),
    call_record_id TEXT REFERENCES call_records (id),
    disposition_id TEXT REFERENCES dispositions (id),
    talk_secs BIGINT,
    settled_at BIGINT
);
INSERT INTO call_list_attempts_new (id, task_id, list_id, user_id, outcome, reason, at, settled_at)
    SELECT id, task_id, list_id, user_id, outcome, reason, at, at FROM call_list_attempts;
DROP TABLE call_list_attempts;
ALTER TABLE call_list_attempts_new RENAME TO call_list_attempts;
CREATE INDEX call_list_attempts_task ON call_list_attempts (task_id, at);
CREATE INDEX call_list_attempts_list ON call_list_attempts (list_id, at);
CREATE UNIQUE INDEX call_list_attempts_dial ON call_list_attempts (dial_id);
CREATE INDEX call_list_attempts_record ON call_list_attempts (call_record_id);
-- Attempts still waiting for their call's outcome, for the sweep that
-- settles those whose phone never reported (usecases::call_list_dials).
CREATE INDEX call_list_attempts_open ON call_list_attempts (at) WHERE outcome = 'dialing';

-- The dial a task's holder placed and that has not ended yet: while it is
-- set, the task is on a call and nobody else may lease it, even when the
-- lease time has run out.
ALTER TABLE call_list_tasks ADD COLUMN open_dial_id TEXT;

-- Power mode queues a `power_dial` job (usecases::call_list_power). SQLite
-- cannot change a CHECK in place: the job table is rebuilt (nothing
-- references it), same columns in the same order.
CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('push', 'score_recompute', 'power_dial')),
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
