DROP INDEX bindings_phone_started_idx;
DROP TABLE recording_uploads;
DROP TABLE call_records;
DROP TABLE recordings;
DROP TABLE sync_counters;
