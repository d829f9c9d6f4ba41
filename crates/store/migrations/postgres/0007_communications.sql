-- The status page and the in-app feed read communications by channel, newest first.
CREATE INDEX communications_type ON communications (communication_type, sent_at);

-- Email recipients per audience managed through the API (beside the policy's own list).
CREATE TABLE recipients (
    audience TEXT NOT NULL,
    address TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (audience, address)
);
