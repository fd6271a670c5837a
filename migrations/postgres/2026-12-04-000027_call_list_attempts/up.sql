-- Dialled attempts (docs/call-lists.md, "Dialling and outcomes"): an
-- attempt links its task, the dial command it placed and the call record
-- that came back; it is `dialing` until the dial or the record settles it.
ALTER TABLE call_list_attempts DROP CONSTRAINT call_list_attempts_outcome_check;
ALTER TABLE call_list_attempts ADD CONSTRAINT call_list_attempts_outcome_check
    CHECK (outcome IN ('dialing', 'skipped', 'cancelled', 'answered', 'busy', 'no_answer', 'failed', 'invalid_number'));
ALTER TABLE call_list_attempts
    ADD COLUMN dial_id TEXT REFERENCES dial_commands (id),
    ADD COLUMN call_record_id TEXT REFERENCES call_records (id),
    ADD COLUMN disposition_id TEXT REFERENCES dispositions (id),
    ADD COLUMN talk_secs BIGINT,
    ADD COLUMN settled_at BIGINT;
UPDATE call_list_attempts SET settled_at = at;
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

-- Power mode queues a `power_dial` job (usecases::call_list_power).
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('push', 'score_recompute', 'power_dial'));
