-- Recordings uploaded by an app (the phone handed the recording to the app
-- that held it), and where a locally stored recording lives.
-- See docs/decisions/0009-app-recordings-and-local-stores.md. (No REFERENCES
-- here: SQLite cannot drop a column that is part of a foreign key, so the
-- down migration could not run; users are never deleted.)

-- The app user who uploaded the recording; NULL when the phone did. Such a
-- recording links only to a record of that user's call.
ALTER TABLE recordings ADD COLUMN uploaded_by TEXT;
-- The local store (its marker file's id) that holds the file; NULL on S3.
ALTER TABLE recordings ADD COLUMN store_id TEXT;

-- A presigned upload handed to an app user, and when the app says the call
-- started (who held the phone then decides whether it is theirs).
ALTER TABLE recording_uploads ADD COLUMN user_id TEXT;
ALTER TABLE recording_uploads ADD COLUMN call_started_at BIGINT;
