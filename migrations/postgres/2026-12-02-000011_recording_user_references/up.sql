-- Nothing to do on PostgreSQL: recordings.uploaded_by and
-- recording_uploads.user_id have referenced users since
-- 2026-12-02-000009. The SQLite migration of this name adds the same
-- foreign keys there (each backend has the same migration names).
SELECT 1;
