ALTER TABLE call_list_tasks DROP COLUMN open_dial_id;
CREATE TABLE call_list_attempts_old (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES call_list_tasks (id),
    list_id TEXT NOT NULL REFERENCES call_lists (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('skipped', 'answered', 'busy', 'no_answer', 'failed', 'invalid_number')),
    reason TEXT,
    at BIGINT NOT NULL
);
INSERT INTO call_list_attempts_old (id, task_id, list_id, user_id, outcome, reason, at)
    SELECT id, task_id, list_id, user_id, outcome, reason, at FROM call_list_attempts
    WHERE outcome NOT IN ('dialing', 'cancelled');
DROP TABLE call_list_attempts;
ALTER TABLE call_list_attempts_old RENAME TO call_list_attempts;
CREATE INDEX call_list_attempts_task ON call_list_attempts (task_id, at);
