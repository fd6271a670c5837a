-- Hand-back (docs/call-lists.md, "Hand-back and reassignment";
-- docs/decisions/0033-call-list-hand-back.md): a task handed back on
-- logout, unbind or a long absence is `returned`, held for the user it
-- came from until `held_until`; after that the list's pool works it.
ALTER TABLE call_list_tasks ADD COLUMN held_for TEXT REFERENCES users (id);
ALTER TABLE call_list_tasks ADD COLUMN held_until BIGINT;
CREATE INDEX call_list_tasks_held_for ON call_list_tasks (held_for);
CREATE INDEX call_list_tasks_assignee ON call_list_tasks (assignee_id);

-- Since when the offline sweep has seen a user with unfinished tasks
-- neither on the app's stream nor on their phone; the row goes when they
-- are seen connected, or when their tasks are handed back.
CREATE TABLE call_list_absences (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    since BIGINT NOT NULL
);
