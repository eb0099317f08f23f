-- Schema v3.
-- 1. A queue message is claimed (compare-and-set) before anything is typed, so a crash between typing and
--    settling leaves a claim the next start resolves as failed (interrupted), never a message typed twice.
--    A failed message carries why, from a closed set.
ALTER TABLE queue_messages ADD COLUMN claimed_by TEXT;
ALTER TABLE queue_messages ADD COLUMN claimed_at TEXT;
ALTER TABLE queue_messages ADD COLUMN failure_reason TEXT CHECK (failure_reason IS NULL OR failure_reason IN (
    'interrupted', 'target_unavailable', 'tmux_error', 'guard_refused', 'payload_too_large', 'retries_exhausted'));
CREATE INDEX queue_claimed ON queue_messages (claimed_by) WHERE claimed_by IS NOT NULL;

-- 2. Routes keep the agents they name. With ON DELETE SET NULL, removing a route's source agent silently widened
--    the route to every source; now removing an agent disables the routes that name it (core/agents.py) and the
--    ids stay as they were.
CREATE TABLE routes_v3 (
    route_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL DEFAULT 1,
    source_agent_id TEXT,
    source_role TEXT,
    event_type TEXT NOT NULL,
    filter TEXT NOT NULL DEFAULT '',
    target_agent_id TEXT,
    template TEXT NOT NULL,
    requires_approval INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO routes_v3 SELECT route_id, name, enabled, source_agent_id, source_role, event_type, filter,
    target_agent_id, template, requires_approval, version, created_at, updated_at FROM routes;
DROP TABLE routes;
ALTER TABLE routes_v3 RENAME TO routes;
CREATE INDEX routes_source ON routes (source_agent_id);
CREATE INDEX routes_target ON routes (target_agent_id);

-- 3. Panes with the agent adopted in each, so `app.pane.list` pages like every other list.
CREATE VIEW pane_rows AS
    SELECT p.*, a.agent_id FROM panes p LEFT JOIN agents a ON a.socket = p.socket AND a.pane_id = p.pane_id;
