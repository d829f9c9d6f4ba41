-- OFREP single evaluation for a rotating set of users (wrk -s bench/ofrep.lua).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = (n + 1) % 10000
  return wrk.format(nil, nil, nil, '{"context":{"targetingKey":"student-' .. n .. '"}}')
end

-- WRK_PACE_MS set: each connection waits that long between requests, so every server gets the
-- same offered load (latency is then compared below saturation, not as queueing at it).
local pace = tonumber(os.getenv("WRK_PACE_MS") or "")
if pace then
  delay = function() return pace end
end
