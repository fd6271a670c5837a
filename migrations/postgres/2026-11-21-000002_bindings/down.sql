DROP TABLE binding_events;
DROP TABLE binding_tokens;
DROP TABLE bindings;
DROP TABLE phone_grants;
DROP TABLE binding_policies;
