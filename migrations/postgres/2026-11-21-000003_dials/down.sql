DROP TABLE app_events;
DROP TABLE dial_policies;
DROP TABLE dial_rules;
DROP TABLE dial_commands;
