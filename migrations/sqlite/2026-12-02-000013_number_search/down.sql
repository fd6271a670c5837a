DROP TRIGGER call_number_search_update;
DROP TRIGGER call_number_search_delete;
DROP TRIGGER call_number_search_insert;
DROP TABLE call_number_search;
ALTER TABLE call_records DROP COLUMN remote_digits;
