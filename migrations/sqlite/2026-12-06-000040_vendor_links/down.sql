DROP TABLE vendor_links;
ALTER TABLE phones DROP COLUMN driver;
