DROP INDEX jobs_topic_idx;
DROP TABLE call_settings;
DROP TABLE call_annotation_edits;
DROP TABLE call_annotations;
DROP TABLE dispositions;
