-- A salesperson's tasks in one list: the owner columns lead, then the list
-- and the state. With only `(assignee_id)`, `(leased_by)` and `(held_for)`,
-- SQLite's planner (no statistics) took `(list_id, state, due_at)` for
-- "has this salesperson anything open in this list" and read every queued
-- task of the list: 80% of the writer's time in the 100-salesperson
-- call-list benchmark. The leading column still serves the queries by
-- user alone (hand-back, the task a user holds).
DROP INDEX call_list_tasks_leased_by;
DROP INDEX call_list_tasks_held_for;
DROP INDEX call_list_tasks_assignee;
CREATE INDEX call_list_tasks_leased_by ON call_list_tasks (leased_by, list_id, state);
CREATE INDEX call_list_tasks_held_for ON call_list_tasks (held_for, list_id, state);
CREATE INDEX call_list_tasks_assignee ON call_list_tasks (assignee_id, list_id, state);
