-- Number search by index (docs/decisions/0014-number-search.md).
-- remote_digits: the digits of the remote number as reported and of its
-- E.164 form, separated by a space, one form alone when its digits contain
-- the other's (domain::number_search::stored_digits writes it for new rows),
-- served by a pg_trgm GIN index for LIKE '%digits%'.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE call_records ADD COLUMN remote_digits TEXT NOT NULL DEFAULT '';

-- The rows already there.
UPDATE call_records
SET remote_digits = CASE
        WHEN strpos(forms.e164, forms.raw) > 0 THEN forms.e164
        WHEN strpos(forms.raw, forms.e164) > 0 THEN forms.raw
        ELSE forms.raw || ' ' || forms.e164
    END
FROM (
    SELECT id,
           regexp_replace(remote_number, '[^0-9]', '', 'g') AS raw,
           regexp_replace(coalesce(remote_e164, ''), '[^0-9]', '', 'g') AS e164
    FROM call_records
) AS forms
WHERE forms.id = call_records.id;

CREATE INDEX call_records_digits_trgm_idx ON call_records USING gin (remote_digits gin_trgm_ops);
