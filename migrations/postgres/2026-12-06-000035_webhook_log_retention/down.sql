DROP INDEX webhook_deliveries_message;
DROP INDEX webhook_messages_key;
DROP INDEX webhook_messages_created;
