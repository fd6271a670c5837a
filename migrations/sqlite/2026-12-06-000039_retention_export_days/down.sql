ALTER TABLE retention_policies DROP COLUMN export_days;
