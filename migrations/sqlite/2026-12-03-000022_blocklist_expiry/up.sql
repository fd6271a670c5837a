-- Housekeeping purges blocklist entries long past their expiry
-- (docs/blocklist.md, "Expired entries") in bounded batches, oldest
-- first: only entries with an expiry are in this index.
CREATE INDEX blocklist_entries_expiry ON blocklist_entries (expires_at) WHERE expires_at IS NOT NULL;
