-- Relayboard schema v1: every aggregate of DESIGN.md. Timestamps are ISO-8601 UTC text (sortable).

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE panes (
    socket TEXT NOT NULL,
    pane_id TEXT NOT NULL,
    session_name TEXT NOT NULL,
    window_index INTEGER NOT NULL,
    pane_index INTEGER NOT NULL,
    pid INTEGER,
    current_command TEXT NOT NULL DEFAULT '',
    cwd TEXT NOT NULL DEFAULT '',
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    alive INTEGER NOT NULL DEFAULT 1,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (socket, pane_id)
);

CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('master', 'worker', 'swarm', 'test-runner', 'shell', 'unknown')),
    capability TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('claude', 'codex', 'shell', 'other')),
    label TEXT NOT NULL DEFAULT '',
    project_path TEXT NOT NULL DEFAULT '',
    socket TEXT,
    pane_id TEXT,
    session_name TEXT,
    window_index INTEGER,
    pane_index INTEGER,
    managed INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'unknown'
        CHECK (state IN ('working', 'waiting_for_input', 'idle', 'exited', 'unknown')),
    state_reason TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_activity_at TEXT,
    UNIQUE (socket, pane_id)
);
CREATE INDEX agents_role_state ON agents (role, state);

CREATE TABLE log_attachments (
    agent_id TEXT PRIMARY KEY REFERENCES agents (agent_id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'degraded', 'detached')),
    reason TEXT NOT NULL DEFAULT '',
    attached_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    timestamp TEXT NOT NULL,
    event_type TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('cli', 'app', 'tui', 'route', 'system', 'scheduler', 'agent')),
    agent_id TEXT,
    user_id TEXT NOT NULL DEFAULT '',
    surface_id TEXT NOT NULL CHECK (surface_id IN ('tui', 'cli', 'headless', 'agent', 'scheduler')),
    project_id TEXT NOT NULL DEFAULT '',
    run_id TEXT,
    step_id TEXT,
    parent_event_id TEXT,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_timestamp ON events (timestamp);
CREATE INDEX events_type_timestamp ON events (event_type, timestamp);
CREATE INDEX events_agent ON events (agent_id, seq);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE routes (
    route_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL DEFAULT 1,
    source_agent_id TEXT REFERENCES agents (agent_id) ON DELETE SET NULL,
    source_role TEXT,
    event_type TEXT NOT NULL,
    filter TEXT NOT NULL DEFAULT '',
    target_agent_id TEXT REFERENCES agents (agent_id) ON DELETE SET NULL,
    template TEXT NOT NULL,
    requires_approval INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE queue_messages (
    message_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('queued', 'blocked', 'delivered', 'canceled', 'failed')),
    state_priority INTEGER NOT NULL,
    block_reason TEXT CHECK (block_reason IS NULL OR block_reason IN (
        'awaiting_approval', 'operator_delayed', 'target_unavailable', 'target_busy',
        'permission_denied', 'budget_exceeded', 'loop_detected', 'routing_disabled')),
    route_id TEXT,
    source_event_id TEXT,
    sender TEXT NOT NULL,
    sender_role TEXT NOT NULL,
    target_agent_id TEXT,
    payload TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    delay_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    cancel_reason TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    enqueued_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX queue_order ON queue_messages (state_priority, enqueued_at);
CREATE INDEX queue_state ON queue_messages (state);

CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE processes (
    process_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('terminal', 'devserver', 'agent_run')),
    name TEXT NOT NULL UNIQUE,
    command TEXT NOT NULL,
    cwd TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'stopped'
        CHECK (state IN ('stopped', 'running', 'pausing', 'paused', 'paused_graceful', 'crashed')),
    pid INTEGER,
    exit_code INTEGER,
    restarts INTEGER NOT NULL DEFAULT 0,
    url TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE schedules (
    schedule_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    agent_id TEXT REFERENCES agents (agent_id) ON DELETE SET NULL,
    command TEXT NOT NULL DEFAULT '',
    start_time TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    day_mask INTEGER NOT NULL DEFAULT 127,
    enabled INTEGER NOT NULL DEFAULT 1,
    max_concurrency INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE schedule_overrides (
    override_id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (schedule_id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('skip', 'run_now', 'extend')),
    minutes INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE schedule_runs (
    run_id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (schedule_id) ON DELETE CASCADE,
    window_start TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    UNIQUE (schedule_id, window_start, attempt)
);

CREATE TABLE memory_kv (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE blackboard (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

CREATE TABLE notes (
    note_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT 'operator',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE token_usage (
    usage_id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL CHECK (source IN ('claude', 'codex', 'manual')),
    agent_id TEXT,
    session_id TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    occurred_at TEXT NOT NULL
);
CREATE INDEX token_usage_time ON token_usage (occurred_at);

CREATE TABLE ingest_offsets (
    path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE budgets (
    budget_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL DEFAULT 'bench',
    period TEXT NOT NULL CHECK (period IN ('day', 'block_5h', 'month')),
    limit_usd REAL NOT NULL CHECK (limit_usd > 0),
    warn_ratio REAL NOT NULL DEFAULT 0.8,
    created_at TEXT NOT NULL
);

CREATE TABLE budget_ledger (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    budget_id TEXT NOT NULL REFERENCES budgets (budget_id),
    amount_usd REAL NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TRIGGER budget_ledger_append_only_update BEFORE UPDATE ON budget_ledger
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;

CREATE TRIGGER budget_ledger_append_only_delete BEFORE DELETE ON budget_ledger
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
