-- Days an organisation keeps a ready export's file (docs/exports.md); NULL
-- follows the operator's `export_days`.
ALTER TABLE retention_policies ADD COLUMN export_days BIGINT;
