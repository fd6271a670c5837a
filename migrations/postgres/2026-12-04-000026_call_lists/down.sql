DROP TABLE call_list_attempts;
DROP TABLE call_list_tasks;
DROP TABLE call_list_members;
DROP TABLE call_lists;
