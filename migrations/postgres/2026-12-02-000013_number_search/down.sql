DROP INDEX call_records_digits_trgm_idx;
ALTER TABLE call_records DROP COLUMN remote_digits;
-- pg_trgm stays: other schemas in the database may use it.
