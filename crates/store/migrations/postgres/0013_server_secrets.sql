-- Keys every instance on one database shares, created once by the first instance to need
-- them: the key that signs the sign-in form's login token.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
