-- Ingested health samples, aggregated: one row per time bucket and endpoint with request and
-- failure counts, a DDSketch of latencies (JSON) and database-pool checks. Not every sample.
CREATE TABLE metric_buckets (
    bucket_start BIGINT NOT NULL,
    endpoint TEXT NOT NULL,
    requests BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    sketch TEXT NOT NULL,
    pool_checks BIGINT NOT NULL,
    pool_exhausted BIGINT NOT NULL,
    PRIMARY KEY (bucket_start, endpoint)
);
