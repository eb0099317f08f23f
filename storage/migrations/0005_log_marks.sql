-- Schema v5. How big each agent's log was when, sampled whenever the watcher saw it grow: the log viewer's jump to
-- a time reads on from the size the log had then (to within one watch interval). Marks past a file's end (it was
-- truncated or replaced) are dropped when that is seen; the oldest go beyond MARKS_KEPT per agent.
CREATE TABLE log_marks (
    agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    PRIMARY KEY (agent_id, at)
);
