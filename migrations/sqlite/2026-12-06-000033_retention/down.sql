DROP INDEX call_records_recording_idx;
DROP INDEX score_events_record_idx;
DROP INDEX recordings_purging_idx;
DROP INDEX recordings_org_uploaded_idx;
ALTER TABLE recordings DROP COLUMN purging_at;
DROP TABLE legal_holds;
DROP TABLE retention_policies;
