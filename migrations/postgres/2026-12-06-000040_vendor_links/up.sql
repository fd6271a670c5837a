-- A phone driven through a vendor driver over an office relay (or reporting
-- its calls in direct mode); NULL for a phone on deskbind's own protocol
-- (the SDK), whatever its vendor (docs/vendor-phones.md).
ALTER TABLE phones ADD COLUMN driver TEXT CHECK (driver IN ('yealink', 'snom', 'grandstream', 'fanvil'));

-- Direct mode for vendor desk phones (docs/vendor-phones.md): a phone
-- posts its Action URLs straight to deskbind at /v1/vendor-events/{token}.
-- The token is stored as its SHA-256 (shown once when issued). `mac` binds
-- the token to one handset: given by the admin, or the first MAC an event
-- carries. `tracker` is the phone's calls in progress (the vendor call
-- tracker as JSON), read and written under the phone's row lock.
CREATE TABLE vendor_links (
    phone_id TEXT PRIMARY KEY REFERENCES phones (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    token_hash TEXT NOT NULL UNIQUE,
    mac TEXT,
    tracker TEXT NOT NULL,
    -- Calls in the tracker: the worker's sweep closes those whose end the
    -- phone never reported.
    open_calls BIGINT NOT NULL DEFAULT 0,
    events_accepted BIGINT NOT NULL DEFAULT 0,
    last_event_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX vendor_links_org_idx ON vendor_links (org_id);
CREATE INDEX vendor_links_open_idx ON vendor_links (phone_id) WHERE (open_calls > 0);
