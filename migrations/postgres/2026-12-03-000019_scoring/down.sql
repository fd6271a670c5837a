DELETE FROM jobs WHERE kind = 'score_recompute';
ALTER TABLE jobs DROP CONSTRAINT jobs_outcome_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_outcome_check CHECK (outcome IN ('sent', 'dropped', 'failed'));
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('push'));
DROP TABLE score_recomputes;
ALTER TABLE contacts DROP COLUMN score_version;
DROP TABLE score_events;
DROP TABLE score_rule_sets;
