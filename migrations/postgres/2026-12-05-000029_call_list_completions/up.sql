-- Completion reports (docs/call-lists.md, "Progress"): when a salesperson's
-- queue of a list empties, the attempt that emptied it writes a row here in
-- its own transaction; once the list's gap has passed (time for the last
-- call's disposition) the worker checks the queue is still empty, counts
-- the report into `report` and delivers it (an event and a push to the
-- salesperson and to the list's owner). An outbox, so a report is never
-- lost and the settling transaction never takes a second user's row lock.
CREATE TABLE call_list_completions (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    list_id TEXT NOT NULL REFERENCES call_lists (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    -- The report as delivered (JSON); NULL until then, and when the
    -- queue had work again by then (nothing sent).
    report TEXT,
    created_at BIGINT NOT NULL,
    -- created_at plus the list's gap: the time left for the last call's
    -- disposition.
    deliver_after BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX call_list_completions_due ON call_list_completions (deliver_after)
    WHERE delivered_at IS NULL;
CREATE INDEX call_list_completions_user ON call_list_completions (list_id, user_id, created_at);
-- A user's latest attempt in a list (an empty `next` asks whether they
-- worked it since their last report).
CREATE INDEX call_list_attempts_user ON call_list_attempts (user_id, list_id, at);

-- Callbacks not taken by their salesperson go to the pool (the worker's
-- sweep looks for queued callbacks past their time).
CREATE INDEX call_list_tasks_callbacks ON call_list_tasks (due_at)
    WHERE (state = 'queued') AND (state_reason = 'callback');

-- The lease's candidates in the list's order: the next 50 are read off
-- the index instead of sorting every due task of the list (25 ms at
-- 100,000 tasks on SQLite). repo::call_list_tasks::due_in_order compares
-- `due_at + 0`, so no index offers a due_at range that the planner would
-- prefer to these (it then sorted every due task); import order reads
-- call_list_tasks_seq.
CREATE INDEX call_list_tasks_priority_order
    ON call_list_tasks (list_id, priority DESC, COALESCE(last_attempt_at, 0), seq);
CREATE INDEX call_list_tasks_due_order
    ON call_list_tasks (list_id, due_at, COALESCE(last_attempt_at, 0), seq);
