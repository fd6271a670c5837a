-- Trimming the webhook outbox (docs/integrations.md, "Webhooks"):
-- housekeeping deletes finished messages older than the delivery log keeps
-- (by creation time), and the retention purge deletes the messages of the
-- calls it purges (by ordering key, the call's id); both delete a message's
-- deliveries first (by message).
CREATE INDEX webhook_messages_created ON webhook_messages (created_at);
CREATE INDEX webhook_messages_key ON webhook_messages (org_id, ordering_key);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (message_seq);
