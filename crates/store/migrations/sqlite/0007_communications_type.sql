-- The status page and the in-app feed read communications by channel, newest first.
CREATE INDEX communications_type ON communications (communication_type, sent_at);
