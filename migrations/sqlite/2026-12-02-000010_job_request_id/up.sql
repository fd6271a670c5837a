-- The id of the HTTP request that queued the job (its `x-request-id`),
-- so the worker's send logs it: one id from the request to the push.
-- NULL for jobs no request queued (digests from schedules, phone frames).
ALTER TABLE jobs ADD COLUMN request_id TEXT;
