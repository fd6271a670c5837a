DROP TABLE presence_settings;
DROP TABLE user_presence;
