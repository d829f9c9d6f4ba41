-- wrk script for bench/service.sh. GREENLIGHT_BENCH=read: GET one release (with its gates,
-- approvals and window view). GREENLIGHT_BENCH=write: a durable write per request, recording a
-- planning gate result (load, decide, commit with events and an audit entry in one transaction);
-- without If-Match, a request that loses a race to a concurrent writer gets 409 and is counted.
local token = os.getenv("GREENLIGHT_TOKEN")
local write = os.getenv("GREENLIGHT_BENCH") == "write"
local gates = { "unit_tests", "integration_tests", "code_coverage", "security_scan" }
local n = 0

request = function()
  if not write then
    return wrk.format("GET", "/api/v1/releases/1.4.0", { ["Authorization"] = "Bearer " .. token })
  end
  n = n + 1
  local body = string.format('{"phase":"planning","gate":"%s","passed":true}', gates[(n % #gates) + 1])
  return wrk.format("POST", "/api/v1/releases/1.4.0/gates", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d of %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status, summary.requests))
end
