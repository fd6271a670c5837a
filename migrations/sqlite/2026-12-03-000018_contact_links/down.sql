DROP INDEX dial_commands_number_idx;
DROP INDEX dial_commands_contact_idx;
DROP INDEX call_records_contact_idx;
ALTER TABLE dial_commands DROP COLUMN contact_id;
ALTER TABLE call_records DROP COLUMN contact_id;
