DROP TABLE presence_reported;
