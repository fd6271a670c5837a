-- Call rollups (docs/retention.md "Rollups"): what every call contributes
-- to the statistics, summed per organisation, UTC quarter hour, user,
-- phone, direction, result, disposition and privacy. Written in the
-- transaction that stores or changes a call (never recomputed from raw
-- rows), and never purged, so statistics outlive the calls. A quarter
-- hour lies inside one local day and hour in every time zone in use.
-- `result` and `disposition_id` are '' for none, so the key has no NULLs.
CREATE TABLE call_rollups (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    bucket_start BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    phone_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    result TEXT NOT NULL,
    disposition_id TEXT NOT NULL,
    private BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    talk_secs BIGINT NOT NULL,
    PRIMARY KEY (org_id, bucket_start, user_id, phone_id, direction, result, disposition_id, private)
);
-- The calls stored before this migration, summed the same way.
INSERT INTO call_rollups (org_id, bucket_start, user_id, phone_id, direction, result,
                          disposition_id, private, calls, answered, talk_secs)
SELECT r.org_id,
       r.started_at - (((r.started_at % 900000000) + 900000000) % 900000000),
       r.user_id, r.phone_id, r.direction, COALESCE(r.result, ''),
       COALESCE(a.disposition_id, ''), COALESCE(a.private, 0),
       COUNT(*),
       SUM(CASE WHEN r.answered_at IS NOT NULL OR r.result = 'answered' THEN 1 ELSE 0 END),
       SUM(CASE WHEN (r.answered_at IS NOT NULL OR r.result = 'answered') AND r.duration_secs > 0
                THEN r.duration_secs ELSE 0 END)
FROM call_records r
LEFT JOIN call_annotations a ON a.call_record_id = r.id
WHERE r.user_id IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
