ALTER TABLE recording_uploads DROP COLUMN call_started_at;
ALTER TABLE recording_uploads DROP COLUMN user_id;
ALTER TABLE recordings DROP COLUMN store_id;
ALTER TABLE recordings DROP COLUMN uploaded_by;
