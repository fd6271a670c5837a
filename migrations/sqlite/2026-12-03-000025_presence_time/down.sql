DROP TABLE presence_sampling;
DROP TABLE presence_minutes;
