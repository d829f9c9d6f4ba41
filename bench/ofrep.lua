-- OFREP single evaluation for a rotating set of users (wrk -s bench/ofrep.lua).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = (n + 1) % 10000
  return wrk.format(nil, nil, nil, '{"context":{"targetingKey":"student-' .. n .. '"}}')
end
