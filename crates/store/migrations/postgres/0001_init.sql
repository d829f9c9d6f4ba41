-- Greenlight schema, version 1 (PostgreSQL). Times are microseconds since the Unix epoch (UTC).
CREATE TABLE releases (
    release_id TEXT PRIMARY KEY,
    version TEXT NOT NULL UNIQUE,
    version_major BIGINT NOT NULL,
    version_minor BIGINT NOT NULL,
    version_patch BIGINT NOT NULL,
    release_type TEXT NOT NULL,
    status TEXT NOT NULL,
    planned_at BIGINT NOT NULL,
    run_in_progress BIGINT NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX releases_status ON releases (status, planned_at);
CREATE INDEX releases_planned ON releases (planned_at);
-- One deployment or rollback at a time, across all releases and all instances.
CREATE UNIQUE INDEX releases_one_run ON releases (run_in_progress) WHERE run_in_progress = 1;

CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    release_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_release ON events (release_id, seq);
CREATE INDEX events_event ON events (event, at);
CREATE INDEX events_at ON events (at);

CREATE TABLE environment_history (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment TEXT NOT NULL,
    release_id TEXT NOT NULL,
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX environment_history_env ON environment_history (environment, seq);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    entry TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, seq);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    release_id TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    available_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    done_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (status, available_at);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,
    is_admin BIGINT NOT NULL DEFAULT 0,
    password_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE communications (
    communication_id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL,
    communication_type TEXT NOT NULL,
    audience TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX communications_release ON communications (release_id, sent_at);
