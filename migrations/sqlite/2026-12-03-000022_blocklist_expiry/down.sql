DROP INDEX blocklist_entries_expiry;
