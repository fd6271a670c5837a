DROP TABLE jobs;
DROP TABLE push_schedules;
DROP TABLE push_default_schedules;
DROP TABLE push_dead_tokens;
DROP TABLE push_devices;
