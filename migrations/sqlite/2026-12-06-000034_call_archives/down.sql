DROP TABLE call_archives;
