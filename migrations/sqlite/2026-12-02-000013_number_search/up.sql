-- Number search by index (docs/decisions/0014-number-search.md).
-- remote_digits: the digits of the remote number as reported and of its
-- E.164 form, separated by a space, one form alone when its digits contain
-- the other's (domain::number_search::stored_digits writes it for new rows).
-- call_number_search: an FTS5 trigram index over that column, keyed by the
-- record's rowid; the triggers below keep it in step with call_records.
ALTER TABLE call_records ADD COLUMN remote_digits TEXT NOT NULL DEFAULT '';

-- The rows already there. SQLite has no regular expressions, so the digits
-- are collected one character at a time.
WITH RECURSIVE walk (id, form, rest, digits) AS (
    SELECT id, 'raw', remote_number, '' FROM call_records
    UNION ALL
    SELECT id, 'e164', coalesce(remote_e164, ''), '' FROM call_records
    UNION ALL
    SELECT id, form, substr(rest, 2),
           digits || CASE WHEN substr(rest, 1, 1) BETWEEN '0' AND '9' THEN substr(rest, 1, 1) ELSE '' END
    FROM walk
    WHERE rest <> ''
),
forms (id, raw, e164) AS (
    SELECT id,
           max(CASE WHEN form = 'raw' THEN digits END),
           max(CASE WHEN form = 'e164' THEN digits END)
    FROM walk
    WHERE rest = ''
    GROUP BY id
)
UPDATE call_records
SET remote_digits = CASE
        WHEN instr(forms.e164, forms.raw) > 0 THEN forms.e164
        WHEN instr(forms.raw, forms.e164) > 0 THEN forms.raw
        ELSE forms.raw || ' ' || forms.e164
    END
FROM forms
WHERE forms.id = call_records.id;

-- External content: the index reads nothing back from call_records for a
-- phrase query, but 'rebuild' can refill it from the table if its rowids
-- ever move (e.g. a table rebuild that does not keep them).
CREATE VIRTUAL TABLE call_number_search USING fts5 (
    remote_digits,
    content = 'call_records',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);
INSERT INTO call_number_search (call_number_search) VALUES ('rebuild');

CREATE TRIGGER call_number_search_insert AFTER INSERT ON call_records BEGIN
    INSERT INTO call_number_search (rowid, remote_digits) VALUES (new.rowid, new.remote_digits);
END;

CREATE TRIGGER call_number_search_delete AFTER DELETE ON call_records BEGIN
    INSERT INTO call_number_search (call_number_search, rowid, remote_digits)
    VALUES ('delete', old.rowid, old.remote_digits);
END;

CREATE TRIGGER call_number_search_update AFTER UPDATE OF remote_digits ON call_records
WHEN old.remote_digits IS NOT new.remote_digits BEGIN
    INSERT INTO call_number_search (call_number_search, rowid, remote_digits)
    VALUES ('delete', old.rowid, old.remote_digits);
    INSERT INTO call_number_search (rowid, remote_digits) VALUES (new.rowid, new.remote_digits);
END;
