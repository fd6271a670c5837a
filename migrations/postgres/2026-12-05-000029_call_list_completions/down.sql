DROP INDEX call_list_tasks_callbacks;
DROP TABLE call_list_completions;
