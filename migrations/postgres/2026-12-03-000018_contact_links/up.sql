-- Call records and dials linked to the contact their remote number belongs
-- to (docs/contacts.md, "Calls and dials of a contact"; decision 0021).
-- The use cases keep the link: the ingest and dial placement resolve the
-- number, a contact's number changes link or unlink the organisation's
-- rows with that number, a merge moves them, a delete unlinks them.
ALTER TABLE call_records ADD COLUMN contact_id TEXT REFERENCES contacts (id);
ALTER TABLE dial_commands ADD COLUMN contact_id TEXT REFERENCES contacts (id);

-- What was stored before the links existed, linked by number.
UPDATE call_records
   SET contact_id = (
       SELECT n.contact_id FROM contact_numbers n
        WHERE n.org_id = call_records.org_id AND n.e164 = call_records.remote_e164)
 WHERE EXISTS (
       SELECT 1 FROM contact_numbers n
        WHERE n.org_id = call_records.org_id AND n.e164 = call_records.remote_e164);
UPDATE dial_commands
   SET contact_id = (
       SELECT n.contact_id FROM contact_numbers n
        WHERE n.org_id = dial_commands.org_id AND n.e164 = dial_commands.number)
 WHERE EXISTS (
       SELECT 1 FROM contact_numbers n
        WHERE n.org_id = dial_commands.org_id AND n.e164 = dial_commands.number);

-- A contact's calls, newest first (GET /v1/calls?contact_id=), and the
-- rows a contact's change or merge moves.
CREATE INDEX call_records_contact_idx ON call_records (org_id, contact_id, started_at);
CREATE INDEX dial_commands_contact_idx ON dial_commands (org_id, contact_id, id);
-- The dials a number gained by a contact links (call records have
-- call_records_remote_e164_idx).
CREATE INDEX dial_commands_number_idx ON dial_commands (org_id, number);
