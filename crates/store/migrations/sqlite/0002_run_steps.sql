-- The steps of runbooks Greenlight ran: one row per attempt, with bounded, redacted output.
CREATE TABLE run_steps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id TEXT NOT NULL,
    run_kind TEXT NOT NULL,
    run_started_at BIGINT NOT NULL,
    step TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    exit_code BIGINT,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    output TEXT NOT NULL
);
CREATE INDEX run_steps_release ON run_steps (release_id, seq);
