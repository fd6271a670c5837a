DROP INDEX call_list_tasks_assignee;
DROP INDEX call_list_tasks_held_for;
DROP INDEX call_list_tasks_leased_by;
CREATE INDEX call_list_tasks_assignee ON call_list_tasks (assignee_id);
CREATE INDEX call_list_tasks_held_for ON call_list_tasks (held_for);
CREATE INDEX call_list_tasks_leased_by ON call_list_tasks (leased_by);
