-- Monitoring cycles run by `assure serve`: one row per scheduled slot (or manual run), claimed by
-- the instance that inserts it first, so servers sharing this database never run a cycle twice.
CREATE TABLE monitor_cycles (
    slot TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX monitor_cycles_started ON monitor_cycles (started_at);
