DELETE FROM jobs WHERE kind = 'export';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('push', 'score_recompute', 'power_dial'));
DROP TABLE exports;
