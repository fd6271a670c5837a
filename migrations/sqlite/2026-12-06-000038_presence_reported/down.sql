DROP INDEX presence_reported_org_idx;
DROP TABLE presence_reported;
