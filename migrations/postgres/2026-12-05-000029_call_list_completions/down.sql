DROP INDEX call_list_tasks_due_order;
DROP INDEX call_list_tasks_priority_order;
DROP INDEX call_list_attempts_user;
DROP INDEX call_list_tasks_callbacks;
DROP TABLE call_list_completions;
