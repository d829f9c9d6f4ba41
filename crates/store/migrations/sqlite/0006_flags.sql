-- Feature flags: one row per flag (the aggregate as JSON with its revision) and one counter
-- that every flag write bumps, so instances can tell cheaply whether their snapshot is current.
CREATE TABLE flags (
    flag_key TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    release_id TEXT,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE flags_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO flags_version (id, version) VALUES (1, 0);
