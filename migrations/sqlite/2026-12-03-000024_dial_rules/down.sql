DROP TABLE dial_rule_sets;
