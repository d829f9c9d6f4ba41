-- Dashboard passwords: one argon2id PHC string per user (algorithm, parameters and salt are in
-- the string). Kept out of `users` so no user query ever reads a hash; the never-written
-- `users.password_hash` column of 0001 goes, so there is one place for it.
CREATE TABLE passwords (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    phc TEXT NOT NULL,
    set_at BIGINT NOT NULL
);
ALTER TABLE users DROP COLUMN password_hash;

-- Failed password sign-ins by the user name given (existing or not), for the sign-in brake;
-- rows older than the brake's window are swept at the next failure.
CREATE TABLE sign_in_failures (
    user_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_name ON sign_in_failures (user_name, at);
