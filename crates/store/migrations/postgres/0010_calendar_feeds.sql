-- Calendar subscription links: a read-only feed per user for calendar apps, which cannot send
-- an Authorization header. Only the SHA-256 of the link's secret is kept; a revoked link
-- (revoked_at set) never matches.
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX calendar_feeds_user ON calendar_feeds (user_id, revoked_at);
