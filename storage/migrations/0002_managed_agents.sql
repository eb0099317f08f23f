-- Managed agents remember how they were launched, so they can be restarted and re-linked.
ALTER TABLE agents ADD COLUMN command TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN launch_cwd TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN launch_env TEXT NOT NULL DEFAULT '{}';
ALTER TABLE agents ADD COLUMN screen_hash TEXT NOT NULL DEFAULT '';
