DROP INDEX call_records_remote_e164_idx;
DROP TABLE contact_settings;
DROP TABLE contact_numbers;
DROP TABLE contacts;
