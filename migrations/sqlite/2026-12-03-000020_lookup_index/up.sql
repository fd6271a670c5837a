-- Reverse lookup for one user (docs/contacts.md,
-- docs/decisions/0025-lookup-index.md): a salesperson's newest calls with
-- one number. call_records_remote_e164_idx (org, number, start) serves an
-- admin, but for one user it walks every call with the number until ten
-- are that user's: all of them when the user never called it. With the
-- user after the number, and the order's columns after the user, the ten
-- rows are the index's first ten.
CREATE INDEX call_records_remote_user_idx ON call_records (org_id, remote_e164, user_id, started_at, id);
