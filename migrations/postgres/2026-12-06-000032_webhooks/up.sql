-- Signed webhooks (docs/integrations.md, "Webhooks"). An endpoint is a URL
-- an admin registers with the event types it wants and a signing secret
-- (Standard Webhooks: `whsec_` + base64; kept as is, since every delivery
-- is signed with it). During a rotation the previous secret signs too
-- until `previous_secret_until`.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    url TEXT NOT NULL,
    description TEXT,
    -- Space-separated event types, e.g. `call.created call.updated`.
    event_types TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    disabled_at BIGINT,
    -- `admin` or `gone` (the endpoint answered 410).
    disabled_reason TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);

-- The outbox: one row per event, written in the transaction of the change
-- it describes (none for a rolled-back change), only when an endpoint of
-- the organisation subscribes to its type. `seq` orders the events.
CREATE TABLE webhook_messages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The `webhook-id` header: `msg_` and a UUID.
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    event_type TEXT NOT NULL,
    -- Events with the same key (a call's id) reach an endpoint in order.
    ordering_key TEXT NOT NULL,
    -- The JSON body sent.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One message to one endpoint, with its attempts so far.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    message_seq BIGINT NOT NULL REFERENCES webhook_messages (seq),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    ordering_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    last_attempt_at BIGINT,
    delivered_at BIGINT,
    created_at BIGINT NOT NULL
);
-- The sender walks pending deliveries in message order and stops at its
-- batch (an index on the due time made it sort the whole backlog on every
-- pass: 771 deliveries/s with 100,000 pending, falling with the backlog).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (message_seq)
    WHERE state = 'pending';
-- An earlier pending delivery of the same key to the same endpoint holds
-- back the later ones.
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ordering_key, message_seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id);
