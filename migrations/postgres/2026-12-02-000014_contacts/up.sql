-- Contacts (docs/contacts.md, docs/decisions/0018-contacts.md).
-- One row per person or company an organisation calls. tags (a JSON array
-- of strings) and custom_fields (a JSON object of strings) are bounded by
-- domain::contacts; search_text is the lower-cased name and company that
-- the q search looks in; score is kept by the scoring rules (issue 19).
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    company TEXT,
    notes TEXT,
    email TEXT,
    tags TEXT NOT NULL,
    external_id TEXT,
    owner_id TEXT REFERENCES users (id),
    custom_fields TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'import', 'auto')),
    score BIGINT NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contacts_org_idx ON contacts (org_id, id);
CREATE INDEX contacts_owner_idx ON contacts (org_id, owner_id, id);
-- external_id is unique per organisation when set (NULLs never collide).
CREATE UNIQUE INDEX contacts_external_idx ON contacts (org_id, external_id);

-- A contact's phone numbers: E.164 and the form it was given in. One
-- number belongs to at most one contact of an organisation (the primary
-- key), which holds under concurrent writers. digits: the digits of both
-- forms (domain::number_search::stored_digits), for number search.
CREATE TABLE contact_numbers (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    e164 TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    raw TEXT NOT NULL,
    digits TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (org_id, e164)
);
CREATE INDEX contact_numbers_contact_idx ON contact_numbers (contact_id, position);

-- Who may see which contacts: 'organisation' (everyone sees every
-- contact) or 'own' (salespeople see only the contacts they own). No row:
-- 'organisation'.
CREATE TABLE contact_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations (id),
    visibility TEXT NOT NULL CHECK (visibility IN ('organisation', 'own')),
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id)
);

-- Reverse lookup: the latest calls with one number.
CREATE INDEX call_records_remote_e164_idx ON call_records (org_id, remote_e164, started_at);
