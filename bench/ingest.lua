-- wrk script for bench/health.sh: POST /api/v1/metrics with a batch of GREENLIGHT_BATCH request
-- samples (a mix of endpoints, 2% failures, latencies 20-500 ms). Samples per second is the
-- request rate times the batch size.
local token = os.getenv("GREENLIGHT_TOKEN")
local batch = tonumber(os.getenv("GREENLIGHT_BATCH") or "500")
local endpoints = { "assignments", "score_recording", "login", "games" }
local parts = {}
for i = 1, batch do
  local outcome = (i % 50 == 0) and "failure" or "success"
  parts[i] = string.format('{"kind":"request","endpoint":"%s","outcome":"%s","latency_ms":%d}',
    endpoints[(i % #endpoints) + 1], outcome, 20 + (i * 37) % 480)
end
local body = '{"samples":[' .. table.concat(parts, ",") .. ']}'

request = function()
  return wrk.format("POST", "/api/v1/metrics", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

done = function(summary, latency, requests)
  local rate = summary.requests / (summary.duration / 1e6)
  io.write(string.format("RESULT %.0f batches/s = %.0f samples/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d of %d\n",
    rate, rate * batch, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.requests))
end
