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
    delivered_at BIGINT
);
CREATE INDEX call_list_completions_undelivered ON call_list_completions (created_at)
    WHERE delivered_at IS NULL;
CREATE INDEX call_list_completions_list ON call_list_completions (list_id, created_at);

-- Callbacks not taken by their salesperson go to the pool (the worker's
-- sweep looks for queued callbacks past their time).
CREATE INDEX call_list_tasks_callbacks ON call_list_tasks (due_at)
    WHERE (state = 'queued') AND (state_reason = 'callback');
