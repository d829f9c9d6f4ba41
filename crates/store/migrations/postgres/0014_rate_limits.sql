-- Rate-limit counters every instance shares: requests per bucket (`sign_in:addr:<ip>`, ...) in
-- fixed windows starting at `window_start` (microseconds); old windows are swept.
CREATE TABLE rate_limits (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
