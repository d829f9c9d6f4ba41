-- Scoped API tokens: what a token may do besides its user's roles narrowing it further
-- (`full`, `read`, `ingest`, `flags`), and when it stops working (NULL: never).
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
