-- Schema v4. Keys typed into an agent's pane with an idempotency key (one-key answers to its prompts): the row is
-- written, claimed, before anything is typed, so a repeated press (or a retry after a crash) never types twice. A
-- claim left by a dead process reads as failed (interrupted), never typed again silently.
CREATE TABLE key_sends (
    idempotency_key TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    keys TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'typed', 'failed')),
    claimed_by TEXT,
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    settled_at TEXT
);
