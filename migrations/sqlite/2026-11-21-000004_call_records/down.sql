DROP TABLE recording_uploads;
DROP TABLE call_records;
DROP TABLE recordings;
DROP TABLE sync_counters;
