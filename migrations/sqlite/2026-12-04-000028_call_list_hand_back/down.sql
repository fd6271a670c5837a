DROP TABLE call_list_absences;
DROP INDEX call_list_tasks_assignee;
DROP INDEX call_list_tasks_held_for;
ALTER TABLE call_list_tasks DROP COLUMN held_until;
ALTER TABLE call_list_tasks DROP COLUMN held_for;
