ALTER TABLE call_list_tasks DROP COLUMN open_dial_id;
DROP INDEX call_list_attempts_open;
DROP INDEX call_list_attempts_record;
DROP INDEX call_list_attempts_dial;
DROP INDEX call_list_attempts_list;
DELETE FROM call_list_attempts WHERE outcome IN ('dialing', 'cancelled');
ALTER TABLE call_list_attempts
    DROP COLUMN dial_id,
    DROP COLUMN call_record_id,
    DROP COLUMN disposition_id,
    DROP COLUMN talk_secs,
    DROP COLUMN settled_at;
ALTER TABLE call_list_attempts DROP CONSTRAINT call_list_attempts_outcome_check;
ALTER TABLE call_list_attempts ADD CONSTRAINT call_list_attempts_outcome_check
    CHECK (outcome IN ('skipped', 'answered', 'busy', 'no_answer', 'failed', 'invalid_number'));

DELETE FROM jobs WHERE kind = 'power_dial';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('push', 'score_recompute'));
