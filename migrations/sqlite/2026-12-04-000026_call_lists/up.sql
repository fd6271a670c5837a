-- Call lists (docs/call-lists.md, docs/decisions/0031-call-lists.md): a
-- manager's list of numbers to call, worked through by the salespeople
-- of its pool one leased task at a time.
CREATE TABLE call_lists (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    owner_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'active', 'paused', 'completed', 'archived')),
    mode TEXT NOT NULL CHECK (mode IN ('preview', 'power')),
    order_by TEXT NOT NULL CHECK (order_by IN ('priority', 'import', 'due')),
    -- Gap, lease time, recall gap, region, windows and retry policy (JSON).
    settings TEXT NOT NULL,
    -- The team whose members work the pool (with call_list_members).
    pool_team_id TEXT REFERENCES teams (id),
    version BIGINT NOT NULL,
    -- The import order the next task gets.
    next_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX call_lists_org ON call_lists (org_id, created_at);

-- Users who work the list's pool besides its team's members.
CREATE TABLE call_list_members (
    list_id TEXT NOT NULL REFERENCES call_lists (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (list_id, user_id)
);
CREATE INDEX call_list_members_user ON call_list_members (user_id);

-- One number to call. `due_at` is when it may be leased (a retry delay or
-- a closed window moves it); `dedupe_key` makes imports idempotent (the
-- external id, or the number when a row has none).
CREATE TABLE call_list_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    list_id TEXT NOT NULL REFERENCES call_lists (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    seq BIGINT NOT NULL,
    dedupe_key TEXT NOT NULL,
    external_id TEXT,
    number TEXT NOT NULL,
    number_e164 TEXT,
    name TEXT,
    payload TEXT NOT NULL,
    priority BIGINT NOT NULL,
    window_from BIGINT,
    window_to BIGINT,
    assignee_id TEXT REFERENCES users (id),
    state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'completed', 'gave_up', 'dropped', 'blocked', 'returned')),
    state_reason TEXT,
    due_at BIGINT NOT NULL,
    leased_by TEXT REFERENCES users (id),
    leased_until BIGINT,
    attempts BIGINT NOT NULL,
    -- Retries used per kind (domain::retry_policy).
    busy_retries BIGINT NOT NULL,
    no_answer_retries BIGINT NOT NULL,
    failed_retries BIGINT NOT NULL,
    not_completed_retries BIGINT NOT NULL,
    last_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX call_list_tasks_dedupe ON call_list_tasks (list_id, dedupe_key);
CREATE UNIQUE INDEX call_list_tasks_seq ON call_list_tasks (list_id, seq);
CREATE INDEX call_list_tasks_due ON call_list_tasks (list_id, state, due_at);
CREATE INDEX call_list_tasks_leased_by ON call_list_tasks (leased_by);

-- What happened each time a task was worked: skipped (with the reason)
-- now; dialled, with its dial command, call record and outcome, next.
CREATE TABLE call_list_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    task_id TEXT NOT NULL REFERENCES call_list_tasks (id),
    list_id TEXT NOT NULL REFERENCES call_lists (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('skipped', 'answered', 'busy', 'no_answer', 'failed', 'invalid_number')),
    reason TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX call_list_attempts_task ON call_list_attempts (task_id, at);
