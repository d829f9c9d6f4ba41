-- A dashboard session opened with an API token records the token, so revoking the token ends
-- the session (NULL: opened with a password).
ALTER TABLE sessions ADD COLUMN token_id TEXT;
CREATE INDEX sessions_token ON sessions (token_id);
